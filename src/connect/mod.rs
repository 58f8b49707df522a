//! STUB: the connector (issue 5).
