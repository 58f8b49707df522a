//! `probe check --format prometheus` parsed back with a small exposition-format parser: every
//! sample belongs to a family declared with HELP and TYPE, labels round-trip, blackbox_exporter's
//! names carry the values a dashboard expects, the failure reason is a code label, and the
//! certificate expiry is there even when verification failed.

use std::collections::{BTreeMap, HashMap};

use crate::common::probe::{ConfigFile, probe, toml_path, toml_str};
use proxyscope::testing::{ChainMode, Policy, TestOrigin, TestPki, TestProxy};

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: families (name → (type, help)) and samples in order.
#[derive(Debug, Default)]
struct Exposition {
    types: HashMap<String, String>,
    help: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    fn parse(text: &str) -> Result<Self, String> {
        let mut out = Self::default();
        for (n, line) in text.lines().enumerate() {
            let n = n + 1;
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest
                    .split_once(' ')
                    .ok_or(format!("line {n}: HELP without text"))?;
                out.help.insert(name.to_owned(), help.to_owned());
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .ok_or(format!("line {n}: TYPE without type"))?;
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                    return Err(format!("line {n}: unknown type {kind}"));
                }
                if out.types.insert(name.to_owned(), kind.to_owned()).is_some() {
                    return Err(format!("line {n}: {name} declared twice"));
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let sample = parse_sample(line).map_err(|e| format!("line {n}: {e}: {line}"))?;
            if !out.types.contains_key(&sample.name) || !out.help.contains_key(&sample.name) {
                return Err(format!(
                    "line {n}: {} has no HELP/TYPE before it",
                    sample.name
                ));
            }
            out.samples.push(sample);
        }
        Ok(out)
    }

    /// The value of the one sample of `name` whose labels include `want`.
    fn value(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && want
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert!(found.len() <= 1, "{name} {want:?} is ambiguous: {found:?}");
        found.first().map(|s| s.value)
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut name = String::new();
    while i < chars.len()
        && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
    {
        name.push(chars[i]);
        i += 1;
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut labels = BTreeMap::new();
    if chars.get(i) == Some(&'{') {
        i += 1;
        loop {
            if chars.get(i) == Some(&'}') {
                i += 1;
                break;
            }
            let mut lname = String::new();
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                lname.push(chars[i]);
                i += 1;
            }
            if lname.is_empty() || chars.get(i) != Some(&'=') || chars.get(i + 1) != Some(&'"') {
                return Err("expected name=\"value\"".into());
            }
            i += 2;
            let mut value = String::new();
            loop {
                match chars.get(i) {
                    None => return Err("unterminated label value".into()),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        value.push(match chars.get(i + 1) {
                            Some('n') => '\n',
                            Some('\\') => '\\',
                            Some('"') => '"',
                            other => return Err(format!("bad escape {other:?}")),
                        });
                        i += 2;
                    }
                    Some(c) => {
                        value.push(*c);
                        i += 1;
                    }
                }
            }
            if labels.insert(lname.clone(), value).is_some() {
                return Err(format!("label {lname} repeated"));
            }
            match chars.get(i) {
                Some(',') => i += 1,
                Some('}') => {}
                _ => return Err("expected , or } after a label".into()),
            }
        }
    }
    if chars.get(i) != Some(&' ') {
        return Err("expected a space before the value".into());
    }
    let value: String = chars[i + 1..].iter().collect();
    let value = match value.trim() {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse::<f64>().map_err(|_| format!("bad value {v:?}"))?,
    };
    Ok(Sample {
        name,
        labels,
        value,
    })
}

#[test]
fn the_parser_reads_escapes_and_rejects_undeclared_samples() {
    let text = "# HELP m a metric\n# TYPE m gauge\nm{a=\"x\\\"y\",b=\"1\\\\2\\n\"} 1.5\nm 2\n";
    let e = Exposition::parse(text).unwrap();
    assert_eq!(e.samples.len(), 2);
    assert_eq!(e.samples[0].labels["a"], "x\"y");
    assert_eq!(e.samples[0].labels["b"], "1\\2\n");
    assert_eq!(e.samples[0].value, 1.5);
    assert!(e.samples[1].labels.is_empty());
    assert!(Exposition::parse("n 1\n").is_err());
    assert!(Exposition::parse("# HELP m x\n# TYPE m gauge\nm{a=x} 1\n").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_output_parses_back_with_blackbox_names_and_codes() {
    let pki = TestPki::new();
    let tls_origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let squid = TestProxy::builder()
        .policy(Policy::deny(&["127.0.0.1"]))
        .start()
        .await;
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.good]
url = {tls}
proxy = "direct"
ca_file = {ca}
[[providers.good.checks]]
name = "home"
path = "/"
expect_status = 200

[providers.untrusted]
url = {tls}
proxy = "direct"

[providers.denied]
url = {tls}
proxy = {squid}
ca_file = {ca}
"#,
        tls = toml_str(tls_origin.url("")),
        ca = toml_path(pki.root_pem_path()),
        squid = toml_str(squid.url()),
    ));
    let path = cfg.path().display().to_string();
    let run = probe(&["check", "--config", &path, "--format", "prometheus"]).await;
    assert_eq!(run.code, Some(2), "{}\n{}", run.stdout, run.stderr);
    let e = Exposition::parse(&run.stdout).unwrap_or_else(|err| panic!("{err}\n{}", run.stdout));

    for family in [
        "probe_success",
        "probe_http_status_code",
        "probe_duration_seconds",
        "probe_http_duration_seconds",
        "probe_ssl_earliest_cert_expiry",
        "proxyscope_check_error",
    ] {
        assert_eq!(
            e.types.get(family).map(String::as_str),
            Some("gauge"),
            "{family}"
        );
    }
    let good = [("provider", "good"), ("check", "home")];
    let untrusted = [("provider", "untrusted"), ("check", "default")];
    let denied = [("provider", "denied"), ("check", "default")];

    assert_eq!(e.value("probe_success", &good), Some(1.0));
    assert_eq!(e.value("probe_success", &untrusted), Some(0.0));
    assert_eq!(e.value("probe_success", &denied), Some(0.0));
    assert_eq!(e.value("probe_http_status_code", &good), Some(200.0));
    assert_eq!(e.value("probe_http_status_code", &denied), Some(0.0));
    assert!(e.value("probe_duration_seconds", &good).unwrap() > 0.0);
    let tls_phase = [("provider", "good"), ("check", "home"), ("phase", "tls")];
    assert!(e.value("probe_http_duration_seconds", &tls_phase).unwrap() > 0.0);
    for phase in [
        "resolve",
        "connect",
        "proxy",
        "tls",
        "processing",
        "transfer",
    ] {
        let l = [("provider", "good"), ("check", "home"), ("phase", phase)];
        assert!(
            e.value("probe_http_duration_seconds", &l).is_some(),
            "{phase}"
        );
    }

    // The failure reason is a code label, with who must act (blame) and where (hop).
    assert_eq!(
        e.value(
            "proxyscope_check_error",
            &[
                ("provider", "denied"),
                ("check", "default"),
                ("code", "proxy.forbidden"),
                ("blame", "proxy"),
                ("hop", "proxy")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        e.value(
            "proxyscope_check_error",
            &[
                ("provider", "untrusted"),
                ("check", "default"),
                ("code", "tls.unknown_issuer"),
                ("blame", "local_config"),
                ("hop", "origin")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(e.value("proxyscope_check_error", &good), None);
    for s in e
        .samples
        .iter()
        .filter(|s| s.name == "proxyscope_check_error")
    {
        let keys: Vec<&str> = s.labels.keys().map(String::as_str).collect();
        assert_eq!(keys, ["blame", "check", "code", "hop", "provider"]);
        assert!(proxyscope::Blame::from_name(&s.labels["blame"]).is_some());
        assert!(proxyscope::ErrorKind::from_code(&s.labels["code"]).is_some());
        assert!(
            ["local_config", "proxy", "origin", "network"].contains(&s.labels["blame"].as_str())
        );
        assert!(["proxy", "origin", "none"].contains(&s.labels["hop"].as_str()));
    }

    // Certificate expiry for the verified chain and the rejected one alike, in the future.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for labels in [&good[..], &untrusted[..]] {
        let expiry = e.value("probe_ssl_earliest_cert_expiry", labels).unwrap();
        assert!(expiry > now + 14.0 * 86_400.0, "{labels:?}: {expiry}");
    }
    assert_eq!(e.value("proxyscope_ssl_verified", &good), Some(1.0));
    assert_eq!(e.value("proxyscope_ssl_verified", &untrusted), Some(0.0));
    // The CONNECT was refused before TLS: no certificate to report.
    assert_eq!(e.value("probe_ssl_earliest_cert_expiry", &denied), None);
}
