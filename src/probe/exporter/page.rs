//! `GET /`: one small HTML page for people who look before they query — every provider and check
//! of the configuration in force, with the last result of each (state, route, error code, blame,
//! hint, when), and whether the last reload was refused.
//!
//! Everything from the configuration or a result is HTML-escaped, URLs are shown with credentials
//! and secret query values masked, and a Content-Security-Policy allows only this page's own
//! inline style and script (by hash), so even a value that escaped the escaping could not run.

use std::fmt::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;

use crate::probe::blame;
use crate::probe::report::{CheckResult, rfc3339};
use crate::proxy::redact_text;

/// What the page shows.
#[derive(Debug)]
pub struct PageInput<'a> {
    /// The configuration file's name.
    pub config: String,
    /// When the configuration in force was loaded, Unix seconds.
    pub loaded_at: i64,
    /// When the last reload was refused and how many errors the refused file had, if the last
    /// reload was refused.
    pub refused: Option<(i64, usize)>,
    /// The providers, in configuration order.
    pub providers: Vec<ProviderRow<'a>>,
}

/// One provider on the page.
#[derive(Debug)]
pub struct ProviderRow<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its base URL, masked for display.
    pub url: String,
    /// Its checks and their last results.
    pub checks: Vec<CheckRow<'a>>,
}

/// One check on the page.
#[derive(Debug)]
pub struct CheckRow<'a> {
    /// The check's name.
    pub name: &'a str,
    /// The last result and when it was taken (Unix seconds); `None` before the first probe.
    pub last: Option<(&'a CheckResult, i64)>,
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3em .5em;\
text-align:left;vertical-align:top}th{background:#f3f3f3}tr[data-ok=\"0\"] td.state{background:#fdd}\
tr[data-state=\"warning\"] td.state{background:#ffd}tr[data-ok=\"1\"] td.state{background:#dfd}\
code{font-size:90%}.refused{background:#fdd;padding:.5em}.hint{max-width:40em}";

/// Turns Unix timestamps into "N s ago" in the reader's clock, counts failing checks into the
/// summary and the title, and marks the body so a headless test can tell the script ran.
const SCRIPT: &str = r#"(function () {
  "use strict";
  var now = Date.now() / 1000;
  document.querySelectorAll("time[data-unix]").forEach(function (t) {
    var at = Number(t.getAttribute("data-unix"));
    var ago = Math.max(0, Math.round(now - at));
    t.title = new Date(at * 1000).toISOString();
    t.textContent = ago < 120 ? ago + " s ago" : Math.round(ago / 60) + " min ago";
  });
  var rows = document.querySelectorAll("tbody tr[data-state]");
  var failing = 0;
  rows.forEach(function (r) { if (r.getAttribute("data-ok") === "0") { failing += 1; } });
  document.getElementById("summary").textContent =
    rows.length + " checks, " + failing + " failing";
  if (failing > 0) { document.title = "(" + failing + " failing) " + document.title; }
  document.body.setAttribute("data-script", "ran");
})();"#;

/// The `Content-Security-Policy` of the page: nothing but its own style and script.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "default-src 'none'; style-src '{}'; script-src '{}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            sha256_source(STYLE),
            sha256_source(SCRIPT)
        )
    })
}

fn sha256_source(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// Renders the page.
pub fn render(input: &PageInput<'_>) -> String {
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>proxyscope exporter</title><style>{STYLE}</style></head>\n\
         <body data-script=\"pending\">\n<h1>proxyscope exporter</h1>\n\
         <p>Configuration <code>{}</code>, loaded {}. \
         <a href=\"/metrics\">Exporter metrics</a>.</p>\n",
        esc(&input.config),
        time(input.loaded_at),
    );
    if let Some((at, errors)) = input.refused {
        let _ = writeln!(
            out,
            "<p class=\"refused\" id=\"reload-refused\">The last reload ({}) was refused: the file has \
             {errors} error(s); the configuration loaded before keeps serving. Run <code>probe lint</code> on it.</p>",
            time(at)
        );
    }
    out.push_str(
        "<p id=\"summary\"></p>\n<table>\n<thead><tr><th>Provider</th><th>Check</th><th>State</th>\
         <th>Route</th><th>Error code</th><th>Blame</th><th>Hint</th><th>Probed</th></tr></thead>\n<tbody>\n",
    );
    for p in &input.providers {
        for c in &p.checks {
            row(&mut out, p, c);
        }
    }
    let _ = write!(
        out,
        "</tbody>\n</table>\n<p>Probe one provider now: <code>/probe?target=NAME</code>; \
         a result younger than the minimum interval is reused.</p>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    out
}

fn row(out: &mut String, p: &ProviderRow<'_>, c: &CheckRow<'_>) {
    let probe_href = format!(
        "/probe?target={}&amp;check={}",
        esc(&query_value(p.name)),
        esc(&query_value(c.name))
    );
    let _ = write!(
        out,
        "<tr data-provider=\"{}\" data-check=\"{}\"",
        esc(p.name),
        esc(c.name)
    );
    let Some((r, at)) = c.last else {
        let _ = writeln!(
            out,
            " data-state=\"unprobed\"><td>{}<br><code>{}</code></td><td><a href=\"{probe_href}\">{}</a></td>\
             <td class=\"state\">not probed yet</td><td></td><td></td><td></td><td></td><td></td></tr>",
            esc(p.name),
            esc(&p.url),
            esc(c.name),
        );
        return;
    };
    let state = r.state.as_str().to_ascii_lowercase();
    let route = match &r.route {
        Some(route) => match route.proxy() {
            Some(proxy) => format!(
                "via proxy <code>{}</code>",
                esc(&proxy.without_credentials())
            ),
            None => "direct".to_owned(),
        },
        None => String::new(),
    };
    let status = r.status.map(|s| format!(" ({s})")).unwrap_or_default();
    let (code, blame, hint, message) = match &r.error {
        Some(e) => (
            format!(
                "<code>{}</code><br><small>{}</small>",
                esc(e.code()),
                esc(&redact_text(&e.message))
            ),
            esc(blame::of(e)),
            esc(&redact_text(e.hint.as_deref().unwrap_or(""))),
            true,
        ),
        None => (String::new(), String::new(), String::new(), false),
    };
    let warnings = if r.warnings.is_empty() || message {
        String::new()
    } else {
        format!(
            "<br><small>{}</small>",
            esc(&redact_text(&r.warnings.join("; ")))
        )
    };
    let _ = writeln!(
        out,
        " data-state=\"{state}\" data-ok=\"{}\"><td>{}<br><code>{}</code></td><td><a href=\"{probe_href}\">{}</a></td>\
         <td class=\"state\">{}{status}{warnings}</td><td>{route}</td><td class=\"code\">{code}</td>\
         <td class=\"blame\">{blame}</td><td class=\"hint\">{hint}</td><td>{}</td></tr>",
        u8::from(r.ok),
        esc(p.name),
        esc(&p.url),
        esc(c.name),
        esc(&state),
        time(at),
    );
}

fn time(unix: i64) -> String {
    format!(
        "<time data-unix=\"{unix}\" datetime=\"{t}\">{t}</time>",
        t = rfc3339(unix)
    )
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query parameter value (everything but unreserved characters).
fn query_value(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};
    use crate::probe::report::CheckError;

    fn input<'a>(results: &'a [CheckResult]) -> PageInput<'a> {
        PageInput {
            config: "probe<1>.toml".into(),
            loaded_at: 1_800_000_000,
            refused: Some((1_800_000_100, 3)),
            providers: vec![
                ProviderRow {
                    name: "a\"b<script>",
                    url: "https://h/".into(),
                    checks: vec![CheckRow {
                        name: "x&y",
                        last: Some((&results[0], 1_800_000_050)),
                    }],
                },
                ProviderRow {
                    name: "fresh",
                    url: "http://f/".into(),
                    checks: vec![CheckRow {
                        name: "default",
                        last: None,
                    }],
                },
            ],
        }
    }

    #[test]
    fn values_are_escaped_and_secrets_masked() {
        let mut r = CheckResult::new("a\"b<script>", "x&y", "GET", "https://h/");
        r.fail(CheckError::from_error(
            &Error::new(ErrorKind::ProxyForbidden)
                .with_message(
                    "GET https://h/?api_key=s3cr3t via http://u:pw@p:1 refused <img src=x>",
                )
                .with_hint("ask for <b>access</b>"),
        ));
        let results = [r];
        let html = render(&input(&results));
        assert!(
            html.contains("data-provider=\"a&quot;b&lt;script&gt;\""),
            "{html}"
        );
        assert!(html.contains("&lt;img src=x&gt;"));
        assert!(html.contains("ask for &lt;b&gt;access&lt;/b&gt;"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("s3cr3t") && !html.contains("u:pw"), "{html}");
        assert_eq!(html.matches("<script>").count(), 1);
        assert!(html.contains("<code>proxy.forbidden</code>"));
        assert!(html.contains("<td class=\"blame\">proxy</td>"));
        assert!(html.contains("data-ok=\"0\""));
        assert!(html.contains("data-state=\"unprobed\""));
        assert!(html.contains("id=\"reload-refused\""));
        assert!(html.contains("probe&lt;1&gt;.toml"));
        assert!(html.contains("/probe?target=a%22b%3Cscript%3E&amp;check=x%26y"));
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_style_and_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; "));
        assert!(csp.contains(&format!("script-src '{}'", sha256_source(SCRIPT))));
        assert!(csp.contains(&format!("style-src '{}'", sha256_source(STYLE))));
        let html = render(&PageInput {
            config: String::new(),
            loaded_at: 0,
            refused: None,
            providers: vec![],
        });
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
        assert!(!html.contains("reload-refused"));
    }
}
