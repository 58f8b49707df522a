//! One finding: [`Diagnostic`] with its [`Severity`], stable code, key path, location, message
//! and suggested fix. The JSON shape (`severity`, `code`, `path`, `location`, `message`,
//! `suggestion`) is a public contract: fields may be added, never renamed.
//!
//! Pure data at the bottom of the crate: `proxy` grades `no_proxy` entries with [`Severity`],
//! `config` lint produces [`Diagnostic`]s and a `config.invalid` error carries them.

use std::fmt;

use serde::Serialize;

/// How bad a finding is, ordered from least to most serious (`Info < Warning < Error`), so the
/// worst of several is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A fact worth knowing, e.g. that another HTTP client reads a value differently; nothing is
    /// wrong under curl's rules.
    Info,
    /// The value works, but probably not as intended or not in other tools.
    Warning,
    /// The value cannot do what it looks like it does; a configuration with an error is refused
    /// (`config.invalid`).
    Error,
}

impl Severity {
    /// `"error"`, `"warning"` or `"info"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lint finding about a configuration value or the environment.
///
/// `code` is stable (scripts match on it); `message` and `suggestion` are for people. Neither
/// ever contains proxy credentials.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error, warning or info.
    pub severity: Severity,
    /// Stable code, e.g. `unknown_key`, `ca_file.missing`, `no_proxy.url`.
    pub code: String,
    /// The key path, e.g. `providers.yandex.ca_file[1]`, or the environment variable's name.
    pub path: String,
    /// `file:line:col`, `env:VAR`, or `None` when the position is unknown (embedded configs).
    pub location: Option<String>,
    /// What is wrong, as a fact.
    pub message: String,
    /// The fix, naming the right key or value.
    pub suggestion: Option<String>,
}

impl Diagnostic {
    /// A finding without a suggestion.
    pub fn new(
        severity: Severity,
        code: impl Into<String>,
        path: impl Into<String>,
        location: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            code: code.into(),
            path: clamp(path.into(), MAX_PATH),
            location: location.map(|l| clamp(l, MAX_PATH)),
            message: clamp(message.into(), MAX_TEXT),
            suggestion: None,
        }
    }

    /// Adds the suggested fix.
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(clamp(suggestion.into(), MAX_TEXT));
        self
    }

    /// Whether this finding makes the configuration invalid.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// One line: control characters from the configuration (in key names, values) are escaped,
    /// so a finding can never forge a line of output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{}: ", printable(loc))?;
        }
        write!(f, "{}[{}] ", self.severity, self.code)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", printable(&self.path))?;
        }
        f.write_str(&printable(&self.message))?;
        if let Some(s) = &self.suggestion {
            write!(f, " (fix: {})", printable(s))?;
        }
        Ok(())
    }
}

/// The longest key path or location kept, in bytes: keys come from the file, and a key can
/// be a megabyte long.
const MAX_PATH: usize = 512;
/// The longest message or suggestion kept, in bytes (they quote values from the file).
const MAX_TEXT: usize = 2048;

/// `s` cut to at most `max` bytes (at a character boundary), saying how much was cut.
fn clamp(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = s.len() - end;
    s.truncate(end);
    s.push_str(&format!("… ({cut} more bytes)"));
    s
}

/// `text` with control characters (line breaks included, and the Unicode line and paragraph
/// separators) escaped as Rust writes them (`\n`, `\u{1b}`): text from a configuration or a
/// peer, made safe for one line of output.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !text.contains(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The worst severity among `diagnostics`, `None` when there are none.
pub fn worst(diagnostics: &[Diagnostic]) -> Option<Severity> {
    diagnostics.iter().map(|d| d.severity).max()
}

/// The most diagnostics reported for one configuration file, the environment's findings
/// included. Past it, one more diagnostic (`diagnostics.truncated`) says how many were left out
/// and of which severities; a file with that many problems is best fixed from the top.
pub const MAX_DIAGNOSTICS: usize = 100;

/// `diagnostics` cut to [`MAX_DIAGNOSTICS`], followed, when anything was cut (or
/// `omitted_errors` errors were never kept in the first place), by a `diagnostics.truncated`
/// summary at `location` whose severity is the worst of what it stands for, so the worst
/// severity of the list — and an exit code derived from it — does not change.
pub(crate) fn capped(
    mut diagnostics: Vec<Diagnostic>,
    omitted_errors: usize,
    location: Option<String>,
) -> Vec<Diagnostic> {
    if diagnostics.len() <= MAX_DIAGNOSTICS && omitted_errors == 0 {
        return diagnostics;
    }
    let cut = diagnostics.split_off(diagnostics.len().min(MAX_DIAGNOSTICS));
    let count = |s: Severity| cut.iter().filter(|d| d.severity == s).count();
    let counts = [
        (count(Severity::Error) + omitted_errors, "error"),
        (count(Severity::Warning), "warning"),
        (count(Severity::Info), "info"),
    ];
    let total: usize = counts.iter().map(|(n, _)| n).sum();
    let severity = match counts {
        [(e, _), ..] if e > 0 => Severity::Error,
        [_, (w, _), _] if w > 0 => Severity::Warning,
        _ => Severity::Info,
    };
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    diagnostics.push(
        Diagnostic::new(
            severity,
            "diagnostics.truncated",
            "",
            location,
            format!(
                "and {total} more ({}) not shown: at most {MAX_DIAGNOSTICS} findings are reported per file",
                parts.join(", ")
            ),
        )
        .with_suggestion("fix the findings shown, then lint again"),
    );
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_location_code_path_and_fix() {
        let d = Diagnostic::new(
            Severity::Error,
            "unknown_key",
            "providers.yandex.ca",
            Some("cfg.toml:3:1".into()),
            "unknown key `ca`",
        )
        .with_suggestion("rename `ca` to `ca_file`");
        let s = d.to_string();
        assert!(!s.contains('\n'));
        assert!(s.starts_with("cfg.toml:3:1: error[unknown_key] providers.yandex.ca"));
        assert!(s.contains("`ca_file`"));
        let d = Diagnostic::new(
            Severity::Error,
            "name.invalid",
            "providers.a\nOK: fake",
            Some("c\rfg.toml:1:1".into()),
            "x\u{1b}[2J\u{2028}y",
        )
        .with_suggestion("z\n");
        let s = d.to_string();
        assert!(
            !s.contains(|c: char| c.is_control() || c == '\u{2028}'),
            "{s:?}"
        );
        assert!(s.contains("providers.a\\nOK: fake"), "{s}");
    }

    #[test]
    fn serialises_to_the_lint_json_shape() {
        let d = Diagnostic::new(Severity::Warning, "x", "p", None, "m");
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["severity"], "warning");
        assert_eq!(v["code"], "x");
        assert_eq!(v["path"], "p");
        assert!(v["location"].is_null());
        assert_eq!(v["message"], "m");
        assert!(v["suggestion"].is_null());
    }

    #[test]
    fn text_quoted_from_a_file_is_bounded() {
        let key = format!("é{}", "k".repeat(1 << 20));
        let d = Diagnostic::new(
            Severity::Error,
            "unknown_key",
            &key,
            None,
            format!("`{key}`"),
        )
        .with_suggestion(format!("remove `{key}`"));
        assert!(d.path.len() < MAX_PATH + 32, "{}", d.path.len());
        assert!(
            d.path
                .ends_with(&format!("({} more bytes)", key.len() - MAX_PATH))
        );
        assert!(d.message.len() < MAX_TEXT + 32);
        assert!(d.suggestion.unwrap().len() < MAX_TEXT + 32);
        assert_eq!(clamp("é".repeat(3), 3), "é… (4 more bytes)");
    }

    #[test]
    fn long_lists_end_in_a_summary_of_the_same_worst_severity() {
        let w = Diagnostic::new(Severity::Warning, "w", "p", None, "m");
        let e = Diagnostic::new(Severity::Error, "e", "p", None, "m");
        let few = vec![w.clone(); MAX_DIAGNOSTICS];
        assert_eq!(capped(few.clone(), 0, None), few);

        let mut many = vec![w.clone(); MAX_DIAGNOSTICS];
        many.extend([w.clone(), e.clone(), e]);
        let out = capped(many, 0, Some("cfg.toml".into()));
        assert_eq!(out.len(), MAX_DIAGNOSTICS + 1);
        let last = &out[MAX_DIAGNOSTICS];
        assert_eq!(last.code, "diagnostics.truncated");
        assert_eq!(last.severity, Severity::Error);
        assert_eq!(last.location.as_deref(), Some("cfg.toml"));
        assert!(
            last.message.starts_with("and 3 more (2 errors, 1 warning)"),
            "{}",
            last.message
        );

        let out = capped(vec![w.clone(); MAX_DIAGNOSTICS + 2], 0, None);
        assert_eq!(out[MAX_DIAGNOSTICS].severity, Severity::Warning);
        // Errors never kept at all still count, and still make the list an error.
        let out = capped(vec![w], 7, None);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].severity, Severity::Error);
        assert!(
            out[1].message.starts_with("and 7 more (7 errors)"),
            "{}",
            out[1].message
        );
    }

    #[test]
    fn worst_severity_orders_error_first() {
        let w = Diagnostic::new(Severity::Warning, "w", "p", None, "m");
        let e = Diagnostic::new(Severity::Error, "e", "p", None, "m");
        let i = Diagnostic::new(Severity::Info, "i", "p", None, "m");
        assert_eq!(worst(&[w.clone(), i.clone()]), Some(Severity::Warning));
        assert_eq!(worst(&[i, e, w]), Some(Severity::Error));
        assert_eq!(worst(&[]), None);
    }
}
