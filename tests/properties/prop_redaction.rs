//! Property tests of redaction (bounded case counts, run in CI): a password of arbitrary
//! characters — the ones a URL parser would stop at (`/ @ : ? # %`), the ones list splitting and
//! the old redactor stopped at (blank, `,`, `=`, `;`, `'`, `]`), quotes, backslashes, control
//! characters, non-ASCII — written unencoded where users write passwords, never appears in any
//! output: configuration load errors, lint findings (text and JSON), route explanations and JSON,
//! `Error` reports, `Debug` and JSON, and the probe's check output (JSON, text, Prometheus).
//!
//! A password is a sequence of distinctive six-character chunks (`[A-Z0-9]`, which nothing else
//! in the input or in proxyscope's own text contains) joined by such characters; a leak of any
//! fragment shows as one of its chunks.

use std::time::Duration;

use crate::common::probe::toml_str;
use proptest::prelude::*;
use proxyscope::config::{Config, ConfigDocument};
use proxyscope::connect::Resolver;
use proxyscope::probe::{Report, Runner, plan, prometheus, text};
use proxyscope::{EnvSnapshot, Error, route};

/// Characters users put in passwords that URL and list parsers treat as syntax.
const SPECIAL: &[&str] = &[
    "/", "@", ":", "?", "#", "%", "%ff", "%2", " ", ",", "=", ";", "'", "]", "[", "\"", "\\", "\t",
    "\n", "&", "+", "<", ">", "é", "://", "*",
];

#[derive(Debug, Clone)]
struct Secret {
    chunks: Vec<String>,
    text: String,
}

fn chunk() -> impl Strategy<Value = String> {
    "[A-Z0-9]{6}".prop_map(|c| format!("Q{c}"))
}

/// A password: chunks joined by special characters, with special characters around.
fn password() -> impl Strategy<Value = Secret> {
    (
        prop::collection::vec((chunk(), prop::sample::select(SPECIAL)), 1..4),
        prop::option::of(prop::sample::select(SPECIAL)),
    )
        .prop_map(|(parts, lead)| {
            let mut text = lead.unwrap_or("").to_owned();
            let mut chunks = Vec::new();
            for (c, sep) in parts {
                text.push_str(&c);
                text.push_str(sep);
                chunks.push(c);
            }
            Secret { chunks, text }
        })
}

fn error_texts(e: &Error, out: &mut Vec<String>) {
    out.push(e.to_string());
    out.push(format!("{e:?}"));
    out.push(e.report());
    out.push(serde_json::to_string(e).unwrap());
    if let Some(r) = e.route() {
        out.push(r.explain());
        out.push(serde_json::to_string(r).unwrap());
    }
}

fn assert_clean(secret: &Secret, user: &str, outputs: &[String]) -> Result<(), TestCaseError> {
    for o in outputs {
        for c in secret.chunks.iter().map(String::as_str).chain([user]) {
            prop_assert!(!o.contains(c), "`{}` leaked into:\n{}", c, o);
        }
    }
    Ok(())
}

/// A configuration with the password in every value that can carry one.
/// `key` goes into a secret query parameter, the password into every userinfo.
fn config_text(user: &str, pass: &str, key: &str, refused_port: u16) -> String {
    format!(
        "proxy = {}\nno_proxy = [\"localhost\", {}]\n[timeouts]\nconnect = \"2s\"\n\
         [providers.a]\nurl = {}\nproxy = {}\n[providers.b]\nurl = \"http://b.test/\"\n\
         [[providers.b.checks]]\nname = \"c\"\nurl = {}\n",
        toml_str(format!("http://{user}:{pass}@127.0.0.1:{refused_port}")),
        toml_str(format!("http://{user}:{pass}@x.test/")),
        toml_str(format!(
            "https://{user}:{pass}@127.0.0.1:{refused_port}/v1?key={key}&q=1"
        )),
        toml_str(format!("{user}:{pass}@127.0.0.1:{refused_port}")),
        toml_str(format!("http://{user}:{pass}@127.0.0.1:{refused_port}/h")),
    )
}

fn config_outputs(toml: &str, env: &EnvSnapshot) -> Vec<String> {
    let mut out = Vec::new();
    for d in ConfigDocument::from_toml_str(toml, "prop.toml").lint(env) {
        out.push(d.to_string());
        out.push(format!("{d:?}"));
        out.push(serde_json::to_string(&d).unwrap());
    }
    match Config::from_toml_str(toml, "prop.toml") {
        Ok(c) => {
            out.push(format!("{c:?}"));
            let target = url::Url::parse("https://elsewhere.test/").unwrap();
            for p in c.providers() {
                for s in c.settings_with_env(Some(p.name()), env).unwrap_or_default() {
                    out.push(format!("{s:?} {}", serde_json::to_string(&s).unwrap()));
                }
                out.push(format!("{:?}", p.checks()));
                out.push(serde_json::to_string(p.checks()).unwrap());
                match route::resolve(c.global_layer(), Some((p.name(), p.layer())), env, &target) {
                    Ok(r) => {
                        out.push(r.explain());
                        out.push(serde_json::to_string(&r).unwrap());
                    }
                    Err(e) => error_texts(&Error::from(e), &mut out),
                }
            }
        }
        Err(e) => error_texts(&e, &mut out),
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn passwords_never_reach_config_lint_or_route_output(
        secret in password(),
        user in chunk(),
    ) {
        let toml = config_text(&user, &secret.text, &secret.chunks[0], 9);
        let outputs = config_outputs(&toml, &EnvSnapshot::default());
        assert_clean(&secret, &user, &outputs)?;
    }

    #[test]
    fn passwords_never_reach_output_from_the_environment(
        secret in password(),
        user in chunk(),
    ) {
        let pass = &secret.text;
        let env = EnvSnapshot::from_pairs([
            ("https_proxy", format!("http://{user}:{pass}@proxy.test:3128")),
            ("http_proxy", format!("{user}:{pass}@proxy.test:3128")),
            ("NO_PROXY", format!("localhost,http://{user}:{pass}@x.test/,.svc.test")),
        ]);
        let mut outputs = config_outputs("", &env);
        outputs.push(format!("{env:?}"));
        for url in ["https://a.test/", "http://a.test/"] {
            let url = url::Url::parse(url).unwrap();
            match route::resolve(&proxyscope::Settings::new(), None, &env, &url) {
                Ok(r) => {
                    outputs.push(r.explain());
                    outputs.push(serde_json::to_string(&r).unwrap());
                }
                Err(e) => error_texts(&Error::from(e), &mut outputs),
            }
        }
        assert_clean(&secret, &user, &outputs)?;
    }
}

proptest! {
    // Each case runs the probe's checks against a refused port: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn passwords_never_reach_probe_check_output(secret in password(), user in chunk()) {
        let toml = config_text(&user, &secret.text, &secret.chunks[0], proxyscope::testing::refused_addr().port());
        let report = match Config::from_toml_str(&toml, "prop.toml") {
            Ok(config) => {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let checks = plan::checks(&config, &[]).unwrap();
                let client = plan::client(&config, EnvSnapshot::default(), Resolver::system()).unwrap();
                rt.block_on(Runner::new(client).timeout(Duration::from_secs(5)).run(&checks))
            }
            Err(e) => Report::not_run(&e),
        };
        let outputs = vec![
            report.to_json(),
            text::render(&report, false),
            prometheus::render(&report),
            format!("{report:?}"),
        ];
        assert_clean(&secret, &user, &outputs)?;
    }
}
