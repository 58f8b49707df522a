//! Durations as written in configuration files: a number followed by a unit (`"250ms"`, `"5s"`,
//! `"1m"`, `"1h"`, combinations like `"1m30s"`). Bare numbers are rejected because nobody can
//! tell whether `5` meant seconds or milliseconds.

use std::time::Duration;

use crate::proxy::redact_url;

/// Why a duration string was rejected, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DurationError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) suggestion: String,
}

/// Parses `"250ms"`, `"5s"`, `"1m"`, `"1h"`, `"1m30s"`, `"1.5s"`.
pub(crate) fn parse(input: &str) -> Result<Duration, DurationError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(invalid(input, "an empty string"));
    }
    if s.parse::<f64>().is_ok() {
        return Err(bare_number(s));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid(input, "a unit without a number"));
        }
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let number: f64 = number
            .parse()
            .map_err(|_| invalid(input, "a malformed number"))?;
        let secs = match unit.trim() {
            "ms" => number / 1000.0,
            "s" | "sec" | "secs" => number,
            "m" | "min" | "mins" => number * 60.0,
            "h" => number * 3600.0,
            "" => return Err(invalid(input, "a number without a unit")),
            other => {
                return Err(DurationError {
                    code: "duration.invalid",
                    message: format!(
                        "`{}` has an unknown unit `{}`",
                        redact_url(input),
                        redact_url(other)
                    ),
                    suggestion: "use ms, s, m or h, e.g. \"250ms\" or \"5s\"".to_owned(),
                });
            }
        };
        total += Duration::try_from_secs_f64(secs)
            .map_err(|_| invalid(input, "a value out of range"))?;
        rest = tail;
    }
    if total.is_zero() {
        return Err(DurationError {
            code: "duration.zero",
            message: format!(
                "`{}` is zero, which would make every attempt time out at once",
                redact_url(input)
            ),
            suggestion: "use a positive duration such as \"5s\", or remove the key for the default"
                .to_owned(),
        });
    }
    Ok(total)
}

/// The error for a bare number (`5` or `"5"`), suggesting both plausible readings.
pub(crate) fn bare_number(number: &str) -> DurationError {
    DurationError {
        code: "duration.bare_number",
        message: format!(
            "`{number}` has no unit, so it is unclear whether it means seconds or milliseconds"
        ),
        suggestion: format!("write \"{number}s\" (seconds) or \"{number}ms\" (milliseconds)"),
    }
}

fn invalid(input: &str, what: &str) -> DurationError {
    DurationError {
        code: "duration.invalid",
        message: format!("`{}` is not a duration: {what}", redact_url(input)),
        suggestion: "write a number with a unit, e.g. \"250ms\", \"5s\", \"1m\"".to_owned(),
    }
}

/// Formats a duration the way it would be written in the file (`"250ms"`, `"5s"`, `"1m30s"`).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 || !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        _ => format!("{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let cases = [
            ("250ms", Duration::from_millis(250)),
            ("5s", Duration::from_secs(5)),
            (" 5s ", Duration::from_secs(5)),
            ("1m", Duration::from_secs(60)),
            ("1h", Duration::from_secs(3600)),
            ("1m30s", Duration::from_secs(90)),
            ("1.5s", Duration::from_millis(1500)),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejected_forms_name_the_fix() {
        let cases = [
            ("5", "duration.bare_number", "\"5s\""),
            ("", "duration.invalid", "\"5s\""),
            ("5 parsecs", "duration.invalid", "ms, s, m or h"),
            ("ms", "duration.invalid", "\"5s\""),
            ("0s", "duration.zero", "\"5s\""),
            ("1..2s", "duration.invalid", "\"5s\""),
        ];
        for (input, code, fix) in cases {
            let e = parse(input).unwrap_err();
            assert_eq!(e.code, code, "{input}");
            assert!(e.suggestion.contains(fix), "{input}: {}", e.suggestion);
        }
    }

    #[test]
    fn format_round_trips() {
        for s in ["250ms", "5s", "1m", "1m30s", "1h"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
