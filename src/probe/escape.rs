//! Text from configurations and peers (provider and check names, messages, reasons, hints,
//! headers) made safe for each line-oriented output, so that none of it can forge a line, a
//! perfdata item or a metric:
//!
//! - [`nagios`]: plugin output is one status line with perfdata after the first `|`, then long
//!   text whose first `|` starts more perfdata. A `|` becomes `¦`, line breaks and tabs become
//!   blanks, other control characters (terminal escapes included) become `\u{fffd}`.
//! - [`prometheus_label`]: a label value in the text exposition format: `\`, `"` and line feed
//!   escaped as the format defines; other control characters, which the format has no escape
//!   for, become `\u{fffd}`.
//!
//! JSON needs nothing: its serialiser escapes every control character.

use std::borrow::Cow;

/// What replaces a `|` in plugin output.
pub const NAGIOS_BAR: char = '\u{a6}';

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\t' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `text` for one line of Nagios plugin output (see the module docs).
pub fn nagios(text: &str) -> Cow<'_, str> {
    if !text.contains(|c: char| c == '|' || c.is_control() || is_line_break(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '|' => NAGIOS_BAR,
                c if is_line_break(c) => ' ',
                c if c.is_control() => '\u{fffd}',
                c => c,
            })
            .collect(),
    )
}

/// `value` as a Prometheus label value, without the surrounding quotes (see the module docs).
pub fn prometheus_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nagios_text_cannot_break_lines_or_start_perfdata() {
        assert_eq!(nagios("plain text"), "plain text");
        assert_eq!(
            nagios("a|b\nOK: fake | 'x'=1\r\n\u{1b}[2J"),
            "a\u{a6}b OK: fake \u{a6} 'x'=1  \u{fffd}[2J"
        );
        assert!(!nagios("x\u{2028}y\u{85}z").contains(['\u{2028}', '\u{85}']));
    }

    #[test]
    fn prometheus_labels_stay_inside_their_quotes() {
        assert_eq!(prometheus_label("odd\"name"), "odd\\\"name");
        assert_eq!(prometheus_label("x\\y\nz"), "x\\\\y\\nz");
        assert_eq!(prometheus_label("a\rb\u{0}c"), "a\u{fffd}b\u{fffd}c");
    }
}
