//! Value rules beyond the 2015 mistakes: check declarations (`[[providers.NAME.checks]]`),
//! `roots = "none"` without a CA, an empty `no_proxy`, "no proxy" spelt as anything but
//! `"direct"`, and durations. Each finding has a stable code, the key path, the line, and a fix.

use proxyscope::EnvSnapshot;
use proxyscope::config::{ConfigDocument, Diagnostic, Severity};

fn lint(text: &str) -> Vec<Diagnostic> {
    ConfigDocument::from_toml_str(text, "/srv/p.toml").lint(&EnvSnapshot::default())
}

fn one<'a>(d: &'a [Diagnostic], code: &str) -> &'a Diagnostic {
    let hits: Vec<&Diagnostic> = d.iter().filter(|d| d.code == code).collect();
    assert_eq!(hits.len(), 1, "{code}: {d:#?}");
    hits[0]
}

const PROVIDER: &str = "[providers.y]\nurl = \"https://y.test\"\n";

#[test]
fn check_declaration_table() {
    // (check body, code, key path, line of the finding, fix contains)
    let cases: &[(&str, &str, &str, u32, &str)] = &[
        (
            "name = \"a\"\npath = \"health\"\n",
            "check.path",
            "providers.y.checks[0].path",
            5,
            "path = \"/health\"",
        ),
        (
            "name = \"a\"\npath = \"https://y.test/h\"\n",
            "check.path",
            "providers.y.checks[0].path",
            5,
            "url = \"https://y.test/h\"",
        ),
        (
            "name = \"a\"\npath = \"/h\"\nurl = \"https://y.test/h\"\n",
            "check.target_conflict",
            "providers.y.checks[0]",
            3,
            "keep one",
        ),
        (
            "name = \"a\"\n",
            "check.target_missing",
            "providers.y.checks[0]",
            3,
            "path = \"/...\"",
        ),
        (
            "path = \"/h\"\n",
            "check.name_missing",
            "providers.y.checks[0]",
            3,
            "name = ",
        ),
        (
            "name = \"a\"\npath = \"/h\"\nexpect_status = 2000\n",
            "check.expect_status",
            "providers.y.checks[0].expect_status",
            6,
            "\"2xx\"",
        ),
        (
            "name = \"a\"\npath = \"/h\"\nexpect_status = \"2yy\"\n",
            "check.expect_status",
            "providers.y.checks[0].expect_status",
            6,
            "\"2xx\"",
        ),
        (
            "name = \"a\"\npath = \"/h\"\nmethod = \"G E T\"\n",
            "check.method",
            "providers.y.checks[0].method",
            6,
            "\"GET\"",
        ),
        (
            "name = \"a\"\npath = \"/h\"\nexpect_header = \"content-type\"\n",
            "type_mismatch",
            "providers.y.checks[0].expect_header",
            6,
            "expect_header = { name",
        ),
        (
            "name = \"a\"\npath = \"/h\"\ntimeout = 5\n",
            "duration.bare_number",
            "providers.y.checks[0].timeout",
            6,
            "\"5s\"",
        ),
        (
            "name = \"a\"\npath = \"/h\"\nexpect_body = \"ok\"\n",
            "unknown_key",
            "providers.y.checks[0].expect_body",
            6,
            "body_contains",
        ),
    ];
    for (body, code, path, line, fix) in cases {
        let text = format!("{PROVIDER}[[providers.y.checks]]\n{body}");
        let d = lint(&text);
        let hit = one(&d, code);
        assert_eq!(hit.severity, Severity::Error, "{body}");
        assert_eq!(hit.path, *path, "{body}");
        let loc = hit.location.as_deref().unwrap();
        assert!(
            loc.starts_with(&format!("/srv/p.toml:{line}:")),
            "{body}: {loc}"
        );
        assert!(
            hit.suggestion.as_deref().unwrap().contains(fix),
            "{body}: {:?}",
            hit.suggestion
        );
    }
}

#[test]
fn checks_must_be_an_array_of_tables_with_unique_names() {
    let d = lint(&format!("{PROVIDER}[providers.y.checks]\nname = \"a\"\n"));
    let hit = one(&d, "type_mismatch");
    assert_eq!(hit.path, "providers.y.checks");
    assert!(
        hit.suggestion
            .as_deref()
            .unwrap()
            .contains("[[providers.y.checks]]")
    );

    let text = format!(
        "{PROVIDER}[[providers.y.checks]]\nname = \"a\"\npath = \"/1\"\n[[providers.y.checks]]\nname = \"a\"\npath = \"/2\"\n"
    );
    let d = lint(&text);
    assert_eq!(
        one(&d, "check.duplicate_name").path,
        "providers.y.checks[1].name"
    );
}

#[test]
fn roots_none_needs_a_ca_file() {
    let d = lint(&format!("roots = \"none\"\n{PROVIDER}"));
    let hit = one(&d, "roots.none_without_ca");
    assert_eq!(hit.path, "roots");
    assert_eq!(hit.location.as_deref(), Some("/srv/p.toml:1:1"));
    assert!(hit.suggestion.as_deref().unwrap().contains("ca_file"));
    // A provider that sets its own roots = "none" without a CA is named itself.
    let d = lint(&format!("{PROVIDER}roots = \"none\"\n"));
    assert_eq!(one(&d, "roots.none_without_ca").path, "providers.y.roots");
}

#[test]
fn empty_no_proxy_list_is_a_warning() {
    let d = lint("no_proxy = []\n");
    let hit = one(&d, "no_proxy.empty");
    assert_eq!(hit.severity, Severity::Warning);
    assert_eq!(hit.location.as_deref(), Some("/srv/p.toml:1:12"));
    assert!(
        hit.suggestion
            .as_deref()
            .unwrap()
            .contains("remove `no_proxy` to inherit")
    );
}

#[test]
fn no_proxy_spelt_otherwise_is_direct() {
    for text in ["proxy = \"none\"\n", "proxy = false\n", "proxy = \"\"\n"] {
        let d = lint(text);
        assert_eq!(d.len(), 1, "{text}: {d:#?}");
        assert!(d[0].code.starts_with("proxy_url."), "{text}");
        assert_eq!(d[0].severity, Severity::Error, "{text}");
        assert!(
            d[0].suggestion.as_deref().unwrap().contains("\"direct\""),
            "{text}"
        );
    }
}

#[test]
fn durations_with_units_only() {
    let d =
        lint("[timeouts]\nconnect = \"5 parsecs\"\ntls = \"0s\"\nproxy = 2.5\nrequets = \"1m\"\n");
    let codes: Vec<(&str, &str)> = d
        .iter()
        .map(|d| (d.code.as_str(), d.path.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("duration.invalid", "timeouts.connect"),
            ("duration.zero", "timeouts.tls"),
            ("duration.bare_number", "timeouts.proxy"),
            ("unknown_key", "timeouts.requets"),
        ]
    );
    assert!(d[3].suggestion.as_deref().unwrap().contains("`request`"));
}
