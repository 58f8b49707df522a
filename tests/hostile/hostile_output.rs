//! Output integrity under hostile text: provider and check names (through the API, since the
//! configuration refuses them), a proxy's reason phrase and error headers, holding line breaks,
//! `|`, quotes, backslashes and terminal escapes, cannot forge a Nagios line or perfdata item,
//! a Prometheus sample or label, or break the JSON; the configuration refuses such names with
//! `name.invalid`.

use std::collections::BTreeSet;
use std::time::Duration;

use proxyscope::config::{Config, ConfigDocument};
use proxyscope::probe::{Check, Report, Runner, nagios, prometheus, text};
use proxyscope::testing::{CannedReply, Policy, TestOrigin, TestProxy};
use proxyscope::{Client, EnvSnapshot, ProxySetting, Settings};

const PROVIDER: &str = "p|'forged'=1s;;;0\nPROXYSCOPE OK - fake";
const CHECK: &str = "c\r\n| 'x'=0 \"q\\\" \u{1b}[2J\u{85}end";
const REASON: &str = "Denied | 'forged'=2s";
const SQUID_ERROR: &str = "ERR_X 0 | 'forged'=3s;;;0";

async fn report() -> Report {
    let origin = TestOrigin::http().await;
    let refusing = TestProxy::builder()
        .policy(Policy::Reply(
            CannedReply::new(403)
                .reason(REASON)
                .header("X-Squid-Error", SQUID_ERROR)
                .header("Server", "squid/6.10"),
        ))
        .start()
        .await;
    let url = origin.url_with_host("127.0.0.1", "/");
    let https_url = url.replace("http://", "https://");
    let client = Client::builder()
        .provider(
            PROVIDER,
            &https_url,
            Settings::new().with_proxy(refusing.url().parse::<ProxySetting>().unwrap()),
        )
        .provider(
            "plain",
            &url,
            Settings::new().with_proxy(ProxySetting::Direct),
        )
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .build()
        .unwrap();
    let checks = vec![
        Check::new(PROVIDER, CHECK, &https_url),
        Check::new("plain", CHECK, &url),
    ];
    Runner::new(client)
        .timeout(Duration::from_secs(10))
        .run(&checks)
        .await
}

/// A Prometheus text-format sample line: name, labels (unescaped), value. Panics on anything
/// the format does not allow.
fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let mut chars = line.chars().peekable();
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    assert!(!name.is_empty(), "no metric name in {line:?}");
    let mut labels = Vec::new();
    if chars.peek() == Some(&'{') {
        chars.next();
        loop {
            let mut key = String::new();
            for c in chars.by_ref() {
                if c == '=' {
                    break;
                }
                assert!(
                    c.is_ascii_alphanumeric() || c == '_',
                    "label name char {c:?} in {line:?}"
                );
                key.push(c);
            }
            assert_eq!(chars.next(), Some('"'), "opening quote in {line:?}");
            let mut value = String::new();
            loop {
                match chars.next().expect("closing quote") {
                    '"' => break,
                    '\\' => match chars.next().expect("escaped char") {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => panic!("escape \\{other} in {line:?}"),
                    },
                    c => {
                        assert!(!c.is_control(), "raw control {c:?} in {line:?}");
                        value.push(c);
                    }
                }
            }
            labels.push((key, value));
            match chars.next() {
                Some(',') => continue,
                Some('}') => break,
                other => panic!("{other:?} after a label in {line:?}"),
            }
        }
    }
    assert_eq!(
        chars.next(),
        Some(' '),
        "space before the value in {line:?}"
    );
    let value: String = chars.collect();
    let value = value
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("value {value:?} in {line:?}"));
    (name, labels, value)
}

/// Nagios perfdata: space-separated `'label'=value…` items, `''` a quote inside a label.
fn parse_perfdata(perf: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let mut chars = perf.chars().peekable();
    while chars.peek().is_some() {
        assert_eq!(chars.next(), Some('\''), "a quoted label in {perf:?}");
        let mut label = String::new();
        loop {
            match chars.next().expect("a closing quote") {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    label.push('\'');
                }
                '\'' => break,
                c => label.push(c),
            }
        }
        assert_eq!(chars.next(), Some('='), "`=` after {label:?}");
        let value: String = chars.by_ref().take_while(|c| *c != ' ').collect();
        items.push((label, value));
    }
    items
}

#[tokio::test]
async fn hostile_names_and_reasons_cannot_forge_output() {
    let report = report().await;
    let codes: Vec<Option<&str>> = report
        .checks
        .iter()
        .map(|c| c.error.as_ref().map(|e| e.code()))
        .collect();
    assert_eq!(codes, [Some("proxy.forbidden"), None], "{report:?}");
    // The reason and the error header are hostile evidence the renderers show.
    let reply = report.checks[0]
        .error
        .as_ref()
        .unwrap()
        .evidence
        .proxy_reply
        .clone()
        .unwrap();
    assert_eq!(reply.reason, REASON);
    assert_eq!(reply.header("X-Squid-Error"), Some(SQUID_ERROR));

    // Nagios: one status line whose only `|` separates the perfdata; a perfdata item per check;
    // no `|` in the long text; no forged status line.
    let out = text::render(&report, false);
    let mut lines = out.lines();
    let status = lines.next().unwrap();
    assert_eq!(status, nagios::status_line(&report));
    assert_eq!(status.matches('|').count(), 1, "{status}");
    let (_, perf) = status.split_once(" | ").unwrap();
    let items = parse_perfdata(perf);
    let labels: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels.len(), 2, "one time item per check: {items:?}");
    assert!(
        labels[0].starts_with("p_'forged'_1s;;;0_PROXYSCOPE OK - fake/c"),
        "{labels:?}"
    );
    assert!(labels[1].starts_with("plain/c"), "{labels:?}");
    assert!(items.iter().all(|(_, v)| v.ends_with("s;;;0")), "{items:?}");
    for line in lines {
        assert!(!line.contains('|'), "a `|` in the long text: {line:?}");
        assert!(
            !line.starts_with("PROXYSCOPE"),
            "a forged status line: {line:?}"
        );
        assert!(!line.contains(|c: char| c.is_control()), "{line:?}");
    }
    assert!(
        out.contains("Denied \u{a6} 'forged'=2s"),
        "the reason is shown, escaped"
    );

    // Prometheus: every line is a comment or a well-formed sample; the labels read back as the
    // names (line feed, quote and backslash escaped; other control characters replaced).
    let expo = prometheus::render(&report);
    let mut providers = BTreeSet::new();
    let mut samples = 0;
    for line in expo.lines().filter(|l| !l.starts_with('#')) {
        let (name, labels, _) = parse_sample(line);
        samples += 1;
        let keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
        // Only the renderer's own label names: no label was forged out of a value.
        const LABELS: &[&str] = &[
            "provider", "check", "phase", "code", "blame", "hop", "via", "proxy",
        ];
        assert!(keys.iter().all(|k| LABELS.contains(k)), "{name}: {keys:?}");
        for (k, v) in &labels {
            match k.as_str() {
                "provider" => {
                    providers.insert(v.clone());
                }
                "check" => assert_eq!(
                    v,
                    &CHECK.replace(['\r', '\u{1b}', '\u{85}'], "\u{fffd}"),
                    "{line}"
                ),
                _ => {}
            }
        }
    }
    assert_eq!(
        providers,
        BTreeSet::from([PROVIDER.to_owned(), "plain".to_owned()])
    );
    assert_eq!(
        expo.lines()
            .filter(|l| l.starts_with("probe_success{"))
            .count(),
        2
    );
    assert!(samples > 10);

    // JSON: parses, and the names come back exactly.
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["checks"][0]["provider"], PROVIDER);
    assert_eq!(json["checks"][0]["name"], CHECK);
}

#[test]
fn the_configuration_refuses_names_that_would_break_outputs() {
    let toml = "[providers.\"a|b\"]\nurl = \"http://a.test/\"\n\
                [providers.\"c\\nOK\"]\nurl = \"http://c.test/\"\n\
                [[providers.\"c\\nOK\".checks]]\nname = \"x\\u001b[2J\"\npath = \"/\"\n\
                [providers.fine]\nurl = \"http://f.test/\"\n";
    let d = ConfigDocument::from_toml_str(toml, "hostile.toml").lint(&EnvSnapshot::default());
    let invalid: Vec<&str> = d
        .iter()
        .filter(|d| d.code == "name.invalid")
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(
        invalid,
        [
            "providers.a|b",
            "providers.c\nOK",
            "providers.c\nOK.checks[0].name"
        ]
    );
    assert!(
        d.iter()
            .filter(|d| d.code == "name.invalid")
            .all(|d| d.is_error())
    );
    for d in &d {
        let line = d.to_string();
        assert!(!line.contains(|c: char| c.is_control()), "{line:?}");
    }
    let e = Config::from_toml_str(toml, "hostile.toml").unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert!(!e.to_string().contains('\n') && !e.report().contains("c\nOK"));
}
