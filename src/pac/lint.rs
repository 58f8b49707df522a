//! PAC lint: what is wrong with a PAC file before a request depends on it — a syntax error
//! (with line:column), a missing `FindProxyForURL` or one that throws or returns something
//! other than a proxy list on sample URLs, and the classic mistakes: `shExpMatch(url, …)` with
//! a host pattern, name lookups on every call, `isInNet(host, …)` with no resolver.
//!
//! A pure function of the script text: the samples run in the sandboxed engine with a resolver
//! that records names and resolves none, and a fixed clock. The findings are the config lint's
//! [`Diagnostic`]s so `probe lint` can list them with the rest.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::error::{Diagnostic, Error, Severity};

use super::host::{FixedClock, Lookup, PacResolver};
use super::{Decision, Pac, PacLimits, PacOptions, PacScript};

/// What the lint knows about how the script will be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintOptions {
    /// The key path the findings are reported under (default `pac`).
    pub path: String,
    /// Whether name lookups from the script will reach a resolver. Without one,
    /// `isInNet(host, …)` on a name is always false.
    pub resolver_configured: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        Self {
            path: "pac".to_owned(),
            resolver_configured: true,
        }
    }
}

/// The sample (url, host) pairs the script is run on: a public name, a plain intranet name, an
/// internal name, an IPv4 literal, and an `http:` URL with a path.
const SAMPLES: &[(&str, &str)] = &[
    ("https://www.example.com/", "www.example.com"),
    ("http://intranet/", "intranet"),
    ("https://build.corp.example.net/", "build.corp.example.net"),
    ("http://10.20.30.40/", "10.20.30.40"),
    (
        "http://downloads.example.org/file.zip",
        "downloads.example.org",
    ),
];

/// Resolves nothing, remembers what it was asked.
#[derive(Default)]
struct Recorder {
    asked: Mutex<Vec<String>>,
}

impl PacResolver for Arc<Recorder> {
    fn lookup(&self, host: &str, _deadline: Instant) -> Lookup {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(host.to_owned());
        Lookup::NotFound
    }
}

/// Lints a PAC script. Findings are ordered: load failures, then sample failures, then the
/// classic mistakes by position.
pub fn lint(script: &PacScript, options: &LintOptions) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let code_text = blank_comments(script.source());
    let recorder = Arc::new(Recorder::default());
    // A fixed clock: the samples must not change with the day the lint runs.
    let pac_options = PacOptions::new()
        .resolver(recorder.clone())
        .clock(FixedClock::at_unix(1_700_000_000, 0))
        .limits(PacLimits {
            engines: 1,
            ..PacLimits::default()
        })
        .cache(0, std::time::Duration::ZERO);
    let pac = match Pac::new(script.clone(), pac_options) {
        Ok(pac) => pac,
        Err(e) => {
            out.push(from_error(script, options, &e, None));
            return out;
        }
    };
    if !defines_function(&code_text) {
        out.push(
            Diagnostic::new(
                Severity::Error,
                "pac.missing_function",
                &options.path,
                Some(script.origin().to_owned()),
                "the PAC script does not define FindProxyForURL(url, host)",
            )
            .with_suggestion(
                "define function FindProxyForURL(url, host) { ... return \"DIRECT\"; }",
            ),
        );
        return out;
    }

    let mut lookups_every_call = true;
    let mut named_samples = 0;
    for (url, host) in SAMPLES {
        let before = recorder
            .asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        match pac.evaluate_args(url, host) {
            Ok(Decision::Answer { answer, .. }) => {
                for d in &answer.result.diagnostics {
                    out.push(
                        Diagnostic::new(
                            Severity::Warning,
                            "pac.result",
                            &options.path,
                            Some(script.origin().to_owned()),
                            format!(
                                "for FindProxyForURL(\"{url}\", \"{host}\") the answer \"{}\" has {d}",
                                answer.returned
                            ),
                        )
                        .with_suggestion("write entries as DIRECT, PROXY host:port, HTTPS host:port, SOCKS host:port or SOCKS5 host:port, separated by ;"),
                    );
                }
            }
            Ok(Decision::NeedsDns(_)) => {}
            Err(e) => {
                let timed_out = e.code() == "pac.timeout";
                out.push(from_error(script, options, &e, Some((url, host))));
                if timed_out {
                    // Every further sample would most likely wait out the limit too.
                    return out;
                }
            }
        }
        if host.parse::<std::net::IpAddr>().is_err() {
            named_samples += 1;
            let asked = recorder
                .asked
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !asked[before..].iter().any(|a| a == host) {
                lookups_every_call = false;
            }
        }
    }

    let params = parameter_names(&code_text);
    if named_samples > 0 && lookups_every_call {
        let at = first_dns_call(&code_text, params.as_ref().map(|p| p.1.as_str()));
        out.push(
            Diagnostic::new(
                Severity::Warning,
                "pac.dns_every_call",
                &options.path,
                Some(location(script, at)),
                "the script resolves the destination's name on every call (dnsResolve, isResolvable or isInNet on the host): every request waits for DNS, and an unresolvable name can change the answer",
            )
            .with_suggestion("test the cheap cases first (isPlainHostName, dnsDomainIs, shExpMatch on host) and resolve only for the hosts that need an address check"),
        );
    }
    if let Some((url_param, host_param)) = &params {
        shexp_on_url(script, options, &code_text, url_param, &mut out);
        if !options.resolver_configured {
            is_in_net_without_resolver(script, options, &code_text, host_param, &mut out);
        }
        is_in_net_ex_on_names(script, options, &code_text, host_param, &mut out);
    }
    out
}

fn from_error(
    script: &PacScript,
    options: &LintOptions,
    e: &Error,
    sample: Option<(&str, &str)>,
) -> Diagnostic {
    let pac = e.evidence().pac.as_deref();
    let loc = match pac.and_then(|p| p.location.as_deref()) {
        Some(l) => format!("{}:{l}", script.origin()),
        None => script.origin().to_owned(),
    };
    let message = match sample {
        Some((u, h)) => format!("for FindProxyForURL(\"{u}\", \"{h}\"): {e}"),
        None => e.to_string(),
    };
    let mut d = Diagnostic::new(Severity::Error, e.code(), &options.path, Some(loc), message);
    if let Some(h) = e.hint() {
        d = d.with_suggestion(h);
    }
    d
}

/// `origin:line:col` for a byte offset, or just the origin.
fn location(script: &PacScript, at: Option<usize>) -> String {
    match at {
        Some(at) => {
            let (line, col) = script.line_col(at);
            format!("{}:{line}:{col}", script.origin())
        }
        None => script.origin().to_owned(),
    }
}

/// The text with comments replaced by blanks (line breaks kept), so offsets still match and a
/// commented-out call is not reported. String literals are kept; `//` inside one is not a
/// comment.
fn blank_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == q || c == b'\n' {
                quote = None;
            }
            i += 1;
            continue;
        }
        match (c, b.get(i + 1)) {
            (b'"' | b'\'' | b'`', _) => {
                quote = Some(c);
                i += 1;
            }
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                for o in &mut out[i..end] {
                    if *o != b'\n' {
                        *o = b' ';
                    }
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    // Only ASCII bytes were replaced, by ASCII blanks; multi-byte characters outside comments
    // are untouched and inside comments every byte became a blank.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn defines_function(code: &str) -> bool {
    code.contains("FindProxyForURL")
}

/// The names of `FindProxyForURL`'s two parameters as declared (`FindProxyForURLEx`'s when
/// the script defines only that one).
fn parameter_names(code: &str) -> Option<(String, String)> {
    const ENTRY: &str = "function FindProxyForURL";
    let mut declared = code
        .match_indices(ENTRY)
        .map(|(at, _)| &code[at + ENTRY.len()..]);
    let classic = declared.clone().find(|rest| !rest.starts_with("Ex"));
    let rest = classic.or_else(|| declared.find_map(|rest| rest.strip_prefix("Ex")))?;
    let rest = rest.trim_start().strip_prefix('(')?;
    let close = rest.find(')')?;
    let mut names = rest[..close].split(',').map(str::trim);
    let url = names.next().filter(|n| is_ident(n))?;
    let host = names.next().filter(|n| is_ident(n))?;
    Some((url.to_owned(), host.to_owned()))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Every call `name(first, …` in `code` whose first argument is the identifier `first`, as the
/// byte offset of the call and the text after the first argument's comma.
fn calls_with_first_arg<'a>(code: &'a str, name: &str, first: &str) -> Vec<(usize, &'a str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = code[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let preceded_by_ident = code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.');
        if preceded_by_ident {
            continue;
        }
        let Some(args) = code[from..].trim_start().strip_prefix('(') else {
            continue;
        };
        let args = args.trim_start();
        let Some(after) = args.strip_prefix(first) else {
            continue;
        };
        let after = after.trim_start();
        if let Some(rest) = after.strip_prefix(',') {
            found.push((at, rest.trim_start()));
        } else if after.starts_with(')') {
            found.push((at, ""));
        }
    }
    found
}

fn first_dns_call(code: &str, host_param: Option<&str>) -> Option<usize> {
    let host = host_param?;
    [
        "dnsResolve",
        "isResolvable",
        "isInNet",
        "dnsResolveEx",
        "isResolvableEx",
    ]
    .iter()
    .flat_map(|f| calls_with_first_arg(code, f, host))
    .map(|(at, _)| at)
    .min()
}

/// `shExpMatch(url, "…")` with a pattern that has no `/`: it is tested against the whole URL
/// (`scheme://host/path`), so a host pattern never matches — or, ending in `*`, also matches
/// any URL whose path or query contains it.
fn shexp_on_url(
    script: &PacScript,
    options: &LintOptions,
    code: &str,
    url_param: &str,
    out: &mut Vec<Diagnostic>,
) {
    for (at, rest) in calls_with_first_arg(code, "shExpMatch", url_param) {
        let Some(pattern) = string_literal(rest) else {
            continue;
        };
        if pattern.contains('/') {
            continue;
        }
        out.push(
            Diagnostic::new(
                Severity::Warning,
                "pac.shexp_url_host_pattern",
                &options.path,
                Some(location(script, Some(at))),
                format!(
                    "shExpMatch({url_param}, \"{pattern}\") matches the pattern against the whole URL (scheme://host/path): a host pattern never matches it, or with a trailing * also matches URLs that merely contain it in their path"
                ),
            )
            .with_suggestion("match host patterns against the host parameter: shExpMatch(host, \"*.example.com\")"),
        );
    }
}

/// `isInNet(host, …)` on the host parameter needs a name lookup for every name; with no
/// resolver it is false for every name, silently taking another branch.
fn is_in_net_without_resolver(
    script: &PacScript,
    options: &LintOptions,
    code: &str,
    host_param: &str,
    out: &mut Vec<Diagnostic>,
) {
    for (at, _) in calls_with_first_arg(code, "isInNet", host_param) {
        out.push(
            Diagnostic::new(
                Severity::Warning,
                "pac.isinnet_no_resolver",
                &options.path,
                Some(location(script, Some(at))),
                format!(
                    "isInNet({host_param}, …) resolves host names, but no resolver is configured for the PAC script: it is false for every name, only IP literals can match"
                ),
            )
            .with_suggestion("configure the resolver PAC lookups go through, or test names with dnsDomainIs/shExpMatch"),
        );
    }
}

/// `isInNetEx(host, …)` on the host parameter: unlike `isInNet`, `isInNetEx` takes an IP
/// literal and never resolves a name, so it is false for every host name — a mistake made when
/// moving a script from `isInNet` to the IPv6 extensions.
fn is_in_net_ex_on_names(
    script: &PacScript,
    options: &LintOptions,
    code: &str,
    host_param: &str,
    out: &mut Vec<Diagnostic>,
) {
    for (at, _) in calls_with_first_arg(code, "isInNetEx", host_param) {
        out.push(
            Diagnostic::new(
                Severity::Warning,
                "pac.isinnetex_name",
                &options.path,
                Some(location(script, Some(at))),
                format!(
                    "isInNetEx({host_param}, …) does not resolve names: it is false for every host name, only IP literals can match"
                ),
            )
            .with_suggestion(format!(
                "test the addresses: isInNetEx(dnsResolveEx({host_param}).split(\";\")[0], …), or match names with dnsDomainIs/shExpMatch"
            )),
        );
    }
}

/// The contents of a string literal at the start of `text` (`"…"` or `'…'`, no escapes).
fn string_literal(text: &str) -> Option<&str> {
    let q = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &text[1..];
    let end = body.find(q)?;
    let lit = &body[..end];
    (!lit.contains('\\')).then_some(lit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_blanked_but_strings_and_offsets_kept() {
        let src = "a // x\n\"http://b\" /* c\nd */ e";
        let out = blank_comments(src);
        assert_eq!(out.len(), src.len());
        assert_eq!(out, "a     \n\"http://b\"     \n     e");
    }

    #[test]
    fn calls_are_found_by_their_first_argument() {
        let code = "if (isInNet(host, 'a', 'b') || x.isInNet(host) || isInNet( h ,1) || isInNet(hostname, 1)) {}";
        let calls = calls_with_first_arg(code, "isInNet", "host");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, 4);
        assert_eq!(calls_with_first_arg(code, "isInNet", "h").len(), 1);
        assert_eq!(
            parameter_names("function FindProxyForURL ( u, h ) {}"),
            Some(("u".to_owned(), "h".to_owned()))
        );
        // The IPv6 entry point when it is the only one; the classic one when both are there.
        assert_eq!(
            parameter_names("function FindProxyForURLEx(a, b) {}"),
            Some(("a".to_owned(), "b".to_owned()))
        );
        assert_eq!(
            parameter_names(
                "function FindProxyForURLEx(a, b) {} function FindProxyForURL(u, h) {}"
            ),
            Some(("u".to_owned(), "h".to_owned()))
        );
        let script = PacScript::from_source("ab\ncd", "t").unwrap();
        assert_eq!(script.line_col(4), (2, 2));
        assert_eq!(string_literal("'*.a.com', x"), Some("*.a.com"));
    }
}
