//! Sizes as written in configuration files: a whole number followed by a binary unit
//! (`"16MiB"`, `"512KiB"`, `"1GiB"`, `"4096B"`). Bare numbers are rejected, like bare durations:
//! `max_body = 16` is far more likely to mean 16 MiB than 16 bytes. Decimal units (`MB`, `kB`)
//! are rejected too, because tools disagree on whether `MB` is 10⁶ or 2²⁰ bytes.

use super::duration::DurationError as SizeError;

/// The largest size accepted (64 GiB): anything above is surely a typo for a cap on what is
/// held in memory.
pub(crate) const MAX: u64 = 64 << 30;

/// Parses `"16MiB"`, `"512 KiB"`, `"1GiB"`, `"4096B"` (units case-insensitive).
pub(crate) fn parse(input: &str) -> Result<u64, SizeError> {
    let s = input.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    if number.is_empty() {
        return Err(invalid(input, "it does not start with a number"));
    }
    let unit = unit.trim();
    if unit.is_empty() {
        return Err(bare_number(number));
    }
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" | "mb" | "gb" | "k" | "m" | "g" => {
            let binary = match unit.chars().next().map(|c| c.to_ascii_uppercase()) {
                Some('K') => "KiB",
                Some('M') => "MiB",
                _ => "GiB",
            };
            return Err(SizeError {
                code: "size.invalid",
                message: format!(
                    "`{input}` is ambiguous: `{unit}` means 1000 or 1024 depending on the tool"
                ),
                suggestion: format!("write \"{number}{binary}\" (1024-based)"),
            });
        }
        other => {
            return Err(SizeError {
                code: "size.invalid",
                message: format!("`{input}` has an unknown unit `{other}`"),
                suggestion: "use B, KiB, MiB or GiB, e.g. \"16MiB\"".to_owned(),
            });
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| invalid(input, "the number is too large"))?;
    let bytes = n
        .checked_mul(scale)
        .filter(|b| *b <= MAX)
        .ok_or_else(|| SizeError {
            code: "size.too_large",
            message: format!("`{input}` is more than the largest accepted size, 64GiB"),
            suggestion: "a cap on what is held in memory is MiB, not TiB: write e.g. \"64MiB\""
                .to_owned(),
        })?;
    if bytes == 0 {
        return Err(SizeError {
            code: "size.zero",
            message: format!("`{input}` is zero, which would refuse every body"),
            suggestion: "use a positive size such as \"16MiB\", or remove the key for the default"
                .to_owned(),
        });
    }
    Ok(bytes)
}

/// The error for a bare number (`16` or `"16"`), suggesting both plausible readings.
pub(crate) fn bare_number(number: &str) -> SizeError {
    SizeError {
        code: "size.bare_number",
        message: format!("`{number}` has no unit, so it is unclear whether it means bytes or MiB"),
        suggestion: format!("write \"{number}MiB\" or \"{number}B\""),
    }
}

fn invalid(input: &str, what: &str) -> SizeError {
    SizeError {
        code: "size.invalid",
        message: format!("`{input}` is not a size: {what}"),
        suggestion: "write a whole number with a unit, e.g. \"16MiB\" or \"512KiB\"".to_owned(),
    }
}

/// Formats a size the way it would be written in the file (`"16MiB"`, `"1536B"`).
pub fn format(bytes: u64) -> String {
    for (scale, unit) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{}{unit}", bytes / scale);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let cases = [
            ("16MiB", 16 << 20),
            (" 512 KiB ", 512 << 10),
            ("1gib", 1 << 30),
            ("4096B", 4096),
            ("64GiB", MAX),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejected_forms_name_the_fix() {
        let cases = [
            ("16", "size.bare_number", "\"16MiB\""),
            ("16MB", "size.invalid", "\"16MiB\""),
            ("512k", "size.invalid", "\"512KiB\""),
            ("16 parsecs", "size.invalid", "MiB"),
            ("MiB", "size.invalid", "\"16MiB\""),
            ("-1MiB", "size.invalid", "\"16MiB\""),
            ("1.5MiB", "size.invalid", "MiB"),
            ("0MiB", "size.zero", "\"16MiB\""),
            ("65GiB", "size.too_large", "\"64MiB\""),
            ("99999999999999999999B", "size.invalid", "\"16MiB\""),
            ("18446744073709551615GiB", "size.too_large", "\"64MiB\""),
        ];
        for (input, code, fix) in cases {
            let e = parse(input).unwrap_err();
            assert_eq!(e.code, code, "{input}");
            assert!(e.suggestion.contains(fix), "{input}: {}", e.suggestion);
        }
    }

    #[test]
    fn format_round_trips() {
        for s in ["16MiB", "512KiB", "1GiB", "1536B", "1B"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
