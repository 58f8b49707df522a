//! Health checks declared per provider (`[[providers.NAME.checks]]`): what to request and what
//! to expect. The probe runs them through the real client; this module only parses and
//! validates them, so a check that can never pass (no target, bad status, bad method) is
//! reported at load time.

use std::time::Duration;

use serde::Serialize;

use super::node::{Entry, Node, Value};
use super::walk::{CHECK_KEYS, HEADER_KEYS, Level, Walker, join};
use crate::diagnostic::Severity;
use crate::parse_error::ParseError;
use crate::settings::Provenance;

/// What a check requests: a path under the provider's `url`, or an absolute URL. `Debug` and
/// `Serialize` never show credentials in the URL.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckTarget {
    /// A path (with optional query) joined to the provider's `url`.
    Path(#[serde(serialize_with = "ser_path")] String),
    /// An absolute URL.
    Url(#[serde(serialize_with = "ser_url")] url::Url),
}

/// The status a check expects.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusExpectation {
    /// Exactly this status.
    Exact(u16),
    /// Any status of this class: `2` for `"2xx"`.
    Class(u8),
    /// 2xx or 3xx: the implicit expectation of a provider that declares no checks.
    SuccessOrRedirect,
}

/// Parses a status (`200`) or a class (`2xx`, case-insensitive), surrounding blanks ignored.
impl std::str::FromStr for StatusExpectation {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        let s = input.trim().to_ascii_lowercase();
        let bad = || ParseError::new(input, "a status (`200`) or a class (`2xx`)");
        if let Some(class) = s.strip_suffix("xx") {
            return match class.parse::<u8>() {
                Ok(c @ 1..=5) if class.len() == 1 => Ok(Self::Class(c)),
                _ => Err(bad()),
            };
        }
        match s.parse::<u16>() {
            Ok(code @ 100..=599) => Ok(Self::Exact(code)),
            _ => Err(bad()),
        }
    }
}

impl StatusExpectation {
    /// Whether `status` meets the expectation.
    pub fn matches(self, status: u16) -> bool {
        match self {
            Self::Exact(s) => s == status,
            Self::Class(c) => status / 100 == u16::from(c),
            Self::SuccessOrRedirect => (200..400).contains(&status),
        }
    }
}

impl std::fmt::Debug for CheckTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(p) => f
                .debug_tuple("Path")
                .field(&crate::proxy::redact::redact_path(p))
                .finish(),
            Self::Url(u) => f
                .debug_tuple("Url")
                .field(&crate::proxy::redact_parsed_url(u))
                .finish(),
        }
    }
}

impl std::fmt::Display for StatusExpectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(s) => write!(f, "{s}"),
            Self::Class(c) => write!(f, "{c}xx"),
            Self::SuccessOrRedirect => f.write_str("2xx or 3xx"),
        }
    }
}

/// A response header a check expects.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderExpectation {
    /// The header's name (case-insensitive).
    pub name: String,
    /// A substring its value must contain; `None` means the header must only be present.
    pub contains: Option<String>,
}

impl HeaderExpectation {
    /// The response must carry the header `name` (any value).
    pub fn present(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            contains: None,
        }
    }

    /// The response must carry the header `name` with a value containing `text`.
    pub fn containing(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            contains: Some(text.into()),
        }
    }
}

/// One check of a provider.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The check's name, unique within its provider.
    pub name: String,
    /// What to request.
    pub target: CheckTarget,
    /// The HTTP method (default `GET`).
    #[serde(serialize_with = "ser_method")]
    pub method: http::Method,
    /// The expected status (default: any 2xx).
    pub expect_status: StatusExpectation,
    /// A substring the body must contain.
    pub body_contains: Option<String>,
    /// A header the response must carry.
    pub expect_header: Option<HeaderExpectation>,
    /// Whether redirects are followed (default `false`: a 3xx is what the check sees).
    pub follow_redirects: bool,
    /// Whether a reply the proxy wrote itself (a login redirect, a splash page, a block page)
    /// may pass the check (default `false`: only the origin's answer counts).
    pub allow_proxy_response: bool,
    /// This check's own request timeout.
    pub timeout: Option<Duration>,
    /// Where the check was declared.
    pub origin: Provenance,
}

impl Check {
    /// The URL this check requests, given its provider's base `url`: a path is appended to
    /// the base's path, and the base's query parameters are kept (a check's own parameter of
    /// the same name does not override them).
    pub fn url(&self, base: &url::Url) -> url::Url {
        match &self.target {
            CheckTarget::Url(u) => u.clone(),
            CheckTarget::Path(p) => {
                let (path, query) = match p.split_once('?') {
                    Some((p, q)) => (p, Some(q)),
                    None => (p.as_str(), None),
                };
                super::join::join(base, path, query)
            }
        }
    }
}

fn ser_url<S: serde::Serializer>(u: &url::Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::proxy::redact_parsed_url(u))
}

fn ser_path<S: serde::Serializer>(p: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::proxy::redact::redact_path(p))
}

fn ser_method<S: serde::Serializer>(m: &http::Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

/// Parses `checks` (an array of tables) at `path`.
pub(crate) fn parse_all(w: &mut Walker<'_>, path: &str, node: &Node) -> Vec<Check> {
    let items = match &node.value {
        Value::Array(a) => a,
        other => {
            let d = w
                .type_error(path, node.pos, "an array of tables", other)
                .with_suggestion(format!(
                    "write each check as `[[{path}]]` (double brackets)"
                ));
            w.diags.push(d);
            return Vec::new();
        }
    };
    let mut out: Vec<Check> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let Value::Table(keys) = &item.value else {
            let d = w
                .type_error(&ipath, item.pos, "a table", &item.value)
                .with_suggestion(format!("write `[[{path}]]` with `name` and `path`"));
            w.diags.push(d);
            continue;
        };
        if let Some(c) = parse_one(w, &ipath, item, keys) {
            if out.iter().any(|o| o.name == c.name) {
                w.diag(
                    Severity::Error,
                    "check.duplicate_name",
                    &join(&ipath, "name"),
                    item.pos,
                    format!("two checks are named `{}`", c.name),
                    Some("give each check of a provider its own `name`".into()),
                );
            }
            out.push(c);
        }
    }
    out
}

fn parse_one(w: &mut Walker<'_>, path: &str, item: &Node, keys: &[Entry]) -> Option<Check> {
    let mut name = None;
    let mut target_path = None;
    let mut target_url = None;
    let mut method = http::Method::GET;
    let mut expect_status = StatusExpectation::Class(2);
    let mut body_contains = None;
    let mut expect_header = None;
    let mut follow_redirects = false;
    let mut allow_proxy_response = false;
    let mut timeout = None;
    let mut ok = true;
    for e in keys {
        let kpath = join(path, &e.key);
        let n = &e.node;
        match e.key.as_str() {
            "name" => {
                name = w
                    .string(&kpath, n, "write `name = \"languages\"`")
                    .map(str::to_owned)
            }
            "path" => match w.string(&kpath, n, "write `path = \"/health\"`") {
                Some(p) if p.contains("://") => {
                    let shown = crate::proxy::redact_url(p);
                    w.diag(
                        Severity::Error,
                        "check.path",
                        &kpath,
                        n.pos,
                        format!("`{shown}` is a URL, not a path"),
                        Some(format!("write `url = \"{shown}\"` instead of `path`")),
                    );
                    ok = false;
                }
                Some(p) if !p.starts_with('/') => {
                    let shown = crate::proxy::redact_url(p);
                    w.diag(
                        Severity::Error,
                        "check.path",
                        &kpath,
                        n.pos,
                        format!("`{shown}` does not start with `/`"),
                        Some(format!("write `path = \"/{shown}\"`")),
                    );
                    ok = false;
                }
                Some(p) => target_path = Some(p.to_owned()),
                None => ok = false,
            },
            "url" => {
                match w
                    .string(&kpath, n, "write `url = \"https://...\"`")
                    .map(|s| (s, url::Url::parse(s)))
                {
                    Some((s, Ok(u))) if matches!(u.scheme(), "http" | "https") => {
                        let found = super::rules::origin_url::check(
                            s,
                            Some(&u),
                            &kpath,
                            w.src.location(n.pos),
                        );
                        w.diags.extend(found);
                        target_url = Some(u)
                    }
                    Some((s, _)) => {
                        w.diag(Severity::Error, "check.url", &kpath, n.pos, format!("`{}` is not an http:// or https:// URL", crate::proxy::redact_url(s)), Some("write an absolute URL, or use `path` relative to the provider's `url`".into()));
                        ok = false;
                    }
                    None => ok = false,
                }
            }
            "method" => match w.string(&kpath, n, "write `method = \"GET\"`") {
                Some(m) => match http::Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes())
                {
                    Ok(m) => method = m,
                    Err(_) => {
                        w.diag(
                            Severity::Error,
                            "check.method",
                            &kpath,
                            n.pos,
                            format!("`{}` is not an HTTP method", crate::proxy::redact_url(m)),
                            Some("write `method = \"GET\"` (or HEAD, POST...)".into()),
                        );
                        ok = false;
                    }
                },
                None => ok = false,
            },
            "expect_status" => match status(w, &kpath, n) {
                Some(s) => expect_status = s,
                None => ok = false,
            },
            "body_contains" => {
                body_contains = w
                    .string(&kpath, n, "write `body_contains = \"...\"`")
                    .map(str::to_owned)
            }
            "expect_header" => match header(w, &kpath, n) {
                Some(h) => expect_header = Some(h),
                None => ok = false,
            },
            "follow_redirects" => follow_redirects = w.boolean(&kpath, n).unwrap_or(false),
            "allow_proxy_response" => allow_proxy_response = w.boolean(&kpath, n).unwrap_or(false),
            "timeout" => timeout = w.duration(&kpath, n),
            _ => w.unknown(path, e, CHECK_KEYS, Level::Check),
        }
    }
    if let Some(n) = &name
        && let Some(d) =
            super::rules::names::check("check", n, &join(path, "name"), w.src.location(item.pos))
    {
        w.diags.push(d);
    }
    let Some(name) = name else {
        w.diag(
            Severity::Error,
            "check.name_missing",
            path,
            item.pos,
            "a check has no `name`",
            Some("add `name = \"...\"` (it labels the check in output and metrics)".into()),
        );
        return None;
    };
    let target = match (target_path, target_url) {
        (Some(p), None) => CheckTarget::Path(p),
        (None, Some(u)) => CheckTarget::Url(u),
        (Some(_), Some(_)) => {
            w.diag(
                Severity::Error,
                "check.target_conflict",
                path,
                item.pos,
                format!("check `{name}` has both `path` and `url`"),
                Some("keep one: `path` (under the provider's url) or `url` (absolute)".into()),
            );
            return None;
        }
        (None, None) => {
            if ok {
                w.diag(Severity::Error, "check.target_missing", path, item.pos, format!("check `{name}` has neither `path` nor `url`"), Some("add `path = \"/...\"`: the endpoint that proves the provider works, not just `/`".into()));
            }
            return None;
        }
    };
    ok.then(|| Check {
        origin: w.src.origin(path, item.pos),
        name,
        target,
        method,
        expect_status,
        body_contains,
        expect_header,
        follow_redirects,
        allow_proxy_response,
        timeout,
    })
}

fn status(w: &mut Walker<'_>, path: &str, n: &Node) -> Option<StatusExpectation> {
    let bad = |w: &mut Walker<'_>, what: String| {
        w.diag(
            Severity::Error,
            "check.expect_status",
            path,
            n.pos,
            what,
            Some("write `expect_status = 200` or `expect_status = \"2xx\"`".into()),
        );
        None
    };
    match &n.value {
        Value::Int(s) if (100..=599).contains(s) => {
            u16::try_from(*s).ok().map(StatusExpectation::Exact)
        }
        Value::Int(s) => bad(w, format!("{s} is not an HTTP status (100-599)")),
        Value::Str(s) => match s.parse::<StatusExpectation>() {
            Ok(e) => Some(e),
            Err(_) => bad(
                w,
                format!(
                    "`{}` is not a status or a class like \"2xx\"",
                    crate::proxy::redact_url(s)
                ),
            ),
        },
        other => bad(
            w,
            format!(
                "`expect_status` must be an integer or a class like \"2xx\", found {}",
                other.type_name()
            ),
        ),
    }
}

fn header(w: &mut Walker<'_>, path: &str, n: &Node) -> Option<HeaderExpectation> {
    let Value::Table(keys) = &n.value else {
        let d = w
            .type_error(path, n.pos, "a table", &n.value)
            .with_suggestion(
                "write `expect_header = { name = \"content-type\", contains = \"json\" }`",
            );
        w.diags.push(d);
        return None;
    };
    let mut name = None;
    let mut contains = None;
    for e in keys {
        let kpath = join(path, &e.key);
        match e.key.as_str() {
            "name" => {
                name = w
                    .string(&kpath, &e.node, "write `name = \"content-type\"`")
                    .map(str::to_owned)
            }
            "contains" => {
                contains = w
                    .string(&kpath, &e.node, "write `contains = \"json\"`")
                    .map(str::to_owned)
            }
            _ => w.unknown(path, e, HEADER_KEYS, Level::Check),
        }
    }
    match name {
        Some(name) if http::HeaderName::from_bytes(name.as_bytes()).is_ok() => {
            Some(HeaderExpectation { name, contains })
        }
        _ => {
            w.diag(
                Severity::Error,
                "check.expect_header",
                path,
                n.pos,
                "`expect_header` needs a valid header `name`",
                Some(
                    "write `expect_header = { name = \"content-type\", contains = \"json\" }`"
                        .into(),
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_expectations_match() {
        assert!(StatusExpectation::Exact(200).matches(200));
        assert!(!StatusExpectation::Exact(200).matches(204));
        assert!(StatusExpectation::Class(2).matches(204));
        assert!(!StatusExpectation::Class(2).matches(302));
        assert_eq!(StatusExpectation::Class(3).to_string(), "3xx");
    }

    #[test]
    fn path_targets_join_the_provider_url() {
        let base = url::Url::parse("https://api.test/v1/").unwrap();
        let c = |t| Check {
            name: "n".into(),
            target: t,
            method: http::Method::GET,
            expect_status: StatusExpectation::Class(2),
            body_contains: None,
            expect_header: None,
            follow_redirects: false,
            allow_proxy_response: false,
            timeout: None,
            origin: Provenance::Default,
        };
        let got = c(CheckTarget::Path("/langs?x=1".into())).url(&base);
        assert_eq!(got.as_str(), "https://api.test/v1/langs?x=1");
        let abs = url::Url::parse("http://other.test/h").unwrap();
        assert_eq!(c(CheckTarget::Url(abs.clone())).url(&base), abs);
    }
}
