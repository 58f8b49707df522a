//! Provider and check names: they label every output — the Nagios status line and perfdata,
//! Prometheus labels, JSON, log fields — so a name with a control character (a line break
//! could forge an output line) or a `|` (the Nagios perfdata separator) is an error
//! (`name.invalid`). Renderers escape such text anyway; the lint makes the name fit everywhere.

use crate::diagnostic::{Diagnostic, Severity};

/// Whether `c` cannot appear in a name: control characters (C0, DEL, C1, line and paragraph
/// separators) and `|`.
pub(crate) fn is_forbidden(c: char) -> bool {
    c.is_control() || c == '|' || c == '\u{2028}' || c == '\u{2029}'
}

/// The finding for a `what` ("provider" or "check") named `name` at `path` / `location`.
pub(crate) fn check(
    what: &str,
    name: &str,
    path: &str,
    location: Option<String>,
) -> Option<Diagnostic> {
    if !name.chars().any(is_forbidden) {
        return None;
    }
    let cleaned: String = name
        .chars()
        .map(|c| if is_forbidden(c) { '_' } else { c })
        .collect();
    Some(
        Diagnostic::new(
            Severity::Error,
            "name.invalid",
            path,
            location,
            format!(
                "the {what} name holds a control character or a vertical bar: it labels \
                 Nagios, Prometheus and log output, where either would break the format"
            ),
        )
        .with_suggestion(format!("rename it to {:?}", cleaned)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_pipes_are_refused() {
        assert!(check("provider", "yandex-2 (eu)", "providers.x", None).is_none());
        for bad in [
            "a|b",
            "a\nOK",
            "a\rb",
            "a\u{1b}[2J",
            "a\u{85}b",
            "a\u{2028}b",
            "\t",
        ] {
            let d = check("check", bad, "p", None).expect(bad);
            assert_eq!(d.code, "name.invalid");
            assert!(d.is_error());
            let text = d.to_string();
            assert!(!text.contains(bad), "{text:?}");
        }
    }
}
