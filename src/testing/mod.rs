//! STUB: the test harness (issue 3).
