//! What a scrape asks for, parsed at the edge: the `/probe` query string (strictly: a malformed
//! percent escape, a repeated or oversized parameter is a 4xx naming the problem, never a guess)
//! and the deadline from `X-Prometheus-Scrape-Timeout-Seconds` (anything unusable — absent, 0,
//! negative, not a number — falls back to a safe default; nothing can make it unbounded).

use std::time::Duration;

/// The longest query string accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 2048;
/// The longest `target` or `check` value accepted (provider and check names are short).
pub const MAX_NAME_BYTES: usize = 128;
/// The most parameters in one query string.
pub const MAX_PARAMS: usize = 16;

/// A `/probe` request: which provider, and optionally which of its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeQuery {
    /// The provider (`target=`).
    pub target: String,
    /// One check of it (`check=`); `None` runs them all.
    pub check: Option<String>,
}

/// Why a query string was refused, with the HTTP status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// 400, or 414 for an oversized query string.
    pub status: u16,
    /// One line for the response body; never echoes an oversized or undecodable value.
    pub message: String,
}

impl QueryError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: message.into(),
        }
    }
}

/// Parses the query string of `/probe` (without the `?`). Parameters other than `target` and
/// `check` are ignored, as blackbox_exporter ignores those it does not know (`module` included,
/// so an existing scrape config keeps working).
pub fn parse_probe_query(query: Option<&str>) -> Result<ProbeQuery, QueryError> {
    let query = query.unwrap_or("");
    if query.len() > MAX_QUERY_BYTES {
        return Err(QueryError {
            status: 414,
            message: format!(
                "the query string is {} bytes; at most {MAX_QUERY_BYTES} are accepted",
                query.len()
            ),
        });
    }
    let mut target = None;
    let mut check = None;
    let mut count = 0;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        count += 1;
        if count > MAX_PARAMS {
            return Err(QueryError::bad(format!(
                "more than {MAX_PARAMS} query parameters"
            )));
        }
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(raw_name).ok_or_else(|| {
            QueryError::bad("a query parameter name is not valid percent-encoded UTF-8")
        })?;
        let slot = match name.as_str() {
            "target" => &mut target,
            "check" => &mut check,
            _ => continue,
        };
        if raw_value.len() > MAX_NAME_BYTES * 3 {
            return Err(QueryError::bad(format!(
                "`{name}` is longer than {MAX_NAME_BYTES} bytes"
            )));
        }
        let value = decode(raw_value).ok_or_else(|| {
            QueryError::bad(format!("`{name}` is not valid percent-encoded UTF-8"))
        })?;
        if value.len() > MAX_NAME_BYTES {
            return Err(QueryError::bad(format!(
                "`{name}` is longer than {MAX_NAME_BYTES} bytes"
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(QueryError::bad(format!(
                "`{name}` contains control characters"
            )));
        }
        if slot.replace(value).is_some() {
            return Err(QueryError::bad(format!("`{name}` is given more than once")));
        }
    }
    let target = target
        .filter(|t| !t.is_empty())
        .ok_or_else(|| QueryError::bad("the `target` parameter (a provider name) is missing"))?;
    Ok(ProbeQuery {
        target,
        check: check.filter(|c| !c.is_empty()),
    })
}

/// Strict `application/x-www-form-urlencoded` decoding: `+` is a space, `%XY` needs two hex
/// digits, and the result must be UTF-8.
fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let s = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(s, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// How the deadline of a probe is derived from the scrape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeadlinePolicy {
    /// Used when the scrape sends no usable timeout header.
    pub default: Duration,
    /// Never more than this, whatever the header says.
    pub max: Duration,
    /// Subtracted from the scrape timeout so the answer arrives before Prometheus gives up.
    pub margin: Duration,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        Self {
            default: Duration::from_secs(10),
            max: Duration::from_secs(60),
            margin: Duration::from_millis(500),
        }
    }
}

impl DeadlinePolicy {
    /// The probe's deadline for a scrape that sent `header` as
    /// `X-Prometheus-Scrape-Timeout-Seconds`: the scrape timeout minus the margin (half the
    /// timeout when it is shorter than twice the margin), at most `max`. An absent, empty,
    /// zero, negative, non-finite or non-numeric value means `default` (also capped by `max`).
    pub fn deadline(&self, header: Option<&[u8]>) -> Duration {
        let secs = header
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0);
        let d = match secs {
            None => self.default,
            Some(s) => {
                let margin = self.margin.as_secs_f64();
                let usable = if s > 2.0 * margin {
                    s - margin
                } else {
                    s / 2.0
                };
                // `usable` is finite and positive here; the cap keeps from_secs_f64 in range.
                Duration::from_secs_f64(usable.min(self.max.as_secs_f64()))
            }
        };
        d.min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_that_parse() {
        let q = parse_probe_query(Some("target=yandex")).unwrap();
        assert_eq!(q.target, "yandex");
        assert_eq!(q.check, None);
        let q = parse_probe_query(Some("module=http_2xx&target=a%2Db&check=lang+s&x=")).unwrap();
        assert_eq!(q.target, "a-b");
        assert_eq!(q.check.as_deref(), Some("lang s"));
        let q = parse_probe_query(Some("&&target=a&check=&")).unwrap();
        assert_eq!(q.check, None);
    }

    #[test]
    fn malformed_queries_are_400_with_a_reason() {
        let cases: &[(&str, u16, &str)] = &[
            ("", 400, "missing"),
            ("target=", 400, "missing"),
            ("check=x", 400, "missing"),
            ("target=%zz", 400, "percent-encoded"),
            ("target=%4", 400, "percent-encoded"),
            ("target=%", 400, "percent-encoded"),
            ("target=%ff%fe", 400, "UTF-8"),
            ("target=a&target=b", 400, "more than once"),
            ("target=a%0Ab", 400, "control"),
            ("%zz=1&target=a", 400, "name"),
        ];
        for (q, status, words) in cases {
            let e = parse_probe_query(Some(q)).unwrap_err();
            assert_eq!(e.status, *status, "{q}");
            assert!(e.message.contains(words), "{q}: {}", e.message);
        }
    }

    #[test]
    fn oversized_input_is_refused_without_echoing_it() {
        let huge = "x".repeat(MAX_NAME_BYTES + 1);
        let e = parse_probe_query(Some(&format!("target={huge}"))).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(!e.message.contains(&huge));
        let encoded = "%41".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            parse_probe_query(Some(&format!("target={encoded}")))
                .unwrap_err()
                .status,
            400
        );
        let e = parse_probe_query(Some(&"a".repeat(MAX_QUERY_BYTES + 1))).unwrap_err();
        assert_eq!(e.status, 414);
        let many = vec!["a=1"; MAX_PARAMS + 1].join("&");
        assert_eq!(parse_probe_query(Some(&many)).unwrap_err().status, 400);
    }

    #[test]
    fn deadlines_from_the_scrape_timeout_header() {
        let p = DeadlinePolicy::default();
        let d = |h: &str| p.deadline(Some(h.as_bytes()));
        assert_eq!(p.deadline(None), Duration::from_secs(10));
        assert_eq!(d("10"), Duration::from_millis(9500));
        assert_eq!(d(" 2.5 "), Duration::from_secs(2));
        assert_eq!(d("0.5"), Duration::from_millis(250));
        assert_eq!(d("3600"), Duration::from_secs(60));
        for bad in [
            "", "0", "-1", "-0", "NaN", "inf", "-inf", "1e400", "ten", "1s", "\u{0}",
        ] {
            assert_eq!(d(bad), Duration::from_secs(10), "{bad:?}");
        }
        assert_eq!(p.deadline(Some(&[0xff, 0xfe])), Duration::from_secs(10));
        let tiny = d("1e-300");
        assert!(tiny < Duration::from_millis(1), "{tiny:?}");
    }
}
