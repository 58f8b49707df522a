//! STUB: checks, runner and renderers (issue 7).
