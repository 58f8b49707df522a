//! Decisions recorded from other tools (`tests/fixtures/peers/*.jsonl`, written by the scripts
//! in `scripts/peer-decisions/`): a header line naming the tool and its version, then one case
//! per line.

use serde_json::Value;

/// The header and the cases of `tests/fixtures/peers/<name>`; panics, naming the file, when
/// it is missing or a line is not JSON.
pub fn recorded(name: &str) -> (Value, Vec<Value>) {
    let path = format!("{}/tests/fixtures/peers/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines().map(|line| {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{path}: {e}: {line}"))
    });
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("{path}: no header line"));
    (header, lines.collect())
}

/// A case's text field, naming the case when it is missing.
pub fn text<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("no text `{field}` in {case}"))
}
