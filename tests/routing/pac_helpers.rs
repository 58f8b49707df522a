//! Every PAC helper against the semantics browsers give it, one expression per row: each runs as
//! `FindProxyForURL` returning `DIRECT` when the expression is true, with names pinned and the
//! clock fixed at Friday 2024-03-15 14:30:45 UTC, local time UTC+1 (15:30:45).

use std::net::IpAddr;

use proxyscope::pac::{Decision, FixedClock, Pac, PacOptions, PacScript, PinnedNames};

/// 2024-03-15T14:30:45Z, a Friday.
const FRIDAY_AFTERNOON: u64 = 1_710_513_045;
/// 2024-03-15T23:30:00Z: still Friday in UTC, already Saturday 00:30 at UTC+1.
const FRIDAY_NIGHT_UTC: u64 = 1_710_545_400;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn names() -> PinnedNames {
    PinnedNames::new()
        .pin("proxy.corp.example", [ip("10.1.2.3")])
        .pin("v6only.example", [ip("2001:db8::1")])
        .pin("dual.example", [ip("2001:db8::2"), ip("192.0.2.7")])
        .pin("nx.example", [])
}

fn pac_at(body: &str, unix: u64, resolver: PinnedNames) -> Pac {
    let script = PacScript::from_source(
        format!("function FindProxyForURL(url, host) {{ {body} }}"),
        "helpers.pac",
    )
    .unwrap();
    let options = PacOptions::new()
        .resolver(resolver)
        .clock(FixedClock::at_unix(unix, 60));
    Pac::new(script, options).unwrap()
}

/// Evaluates `expr` as a boolean inside FindProxyForURL("http://www.example.com/x", "www.example.com").
fn truth_at(expr: &str, unix: u64) -> Result<bool, proxyscope::Error> {
    let pac = pac_at(
        &format!("return ({expr}) ? 'DIRECT' : 'PROXY false.invalid:1';"),
        unix,
        names(),
    );
    match pac.evaluate_args("http://www.example.com/x", "www.example.com")? {
        Decision::Answer { answer, .. } => Ok(answer.returned == "DIRECT"),
        Decision::NeedsDns(n) => panic!("{expr}: asked for {n:?}"),
    }
}

fn check_table(rows: &[(&str, bool)], unix: u64) {
    let mut wrong = Vec::new();
    for (expr, want) in rows {
        match truth_at(expr, unix) {
            Ok(got) if got == *want => {}
            Ok(got) => wrong.push(format!("{expr}: got {got}, want {want}")),
            Err(e) => wrong.push(format!("{expr}: {}", e.report())),
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn host_name_helpers() {
    check_table(
        &[
            ("isPlainHostName('www')", true),
            ("isPlainHostName('www.example.com')", false),
            // An IPv6 literal has no dot but is not a plain name (Chromium).
            ("isPlainHostName('::1')", false),
            ("dnsDomainIs('www.example.com', '.example.com')", true),
            // A suffix test without a label boundary, as in browsers.
            ("dnsDomainIs('www.example.com', 'example.com')", true),
            ("dnsDomainIs('wwwexample.com', '.example.com')", false),
            ("dnsDomainIs('example.com', '.example.com')", false),
            ("dnsDomainIs('WWW.EXAMPLE.COM', '.example.com')", false),
            (
                "localHostOrDomainIs('www.example.com', 'www.example.com')",
                true,
            ),
            ("localHostOrDomainIs('www', 'www.example.com')", true),
            (
                "localHostOrDomainIs('www.example.org', 'www.example.com')",
                false,
            ),
            ("localHostOrDomainIs('home', 'www.example.com')", false),
            ("dnsDomainLevels('www') === 0", true),
            ("dnsDomainLevels('www.example.com') === 2", true),
            ("dnsDomainLevels(host) === 2", true),
        ],
        FRIDAY_AFTERNOON,
    );
}

#[test]
fn shell_expression_matching() {
    check_table(
        &[
            (
                "shExpMatch('http://home.example.com/people/ari/index.html', '*/ari/*')",
                true,
            ),
            (
                "shExpMatch('http://home.example.com/people/montulli/index.html', '*/ari/*')",
                false,
            ),
            ("shExpMatch(host, '*.example.com')", true),
            ("shExpMatch('example.com', '*.example.com')", false),
            ("shExpMatch('a.b', 'a?b')", true),
            ("shExpMatch('ab', 'a?b')", false),
            // `.` is literal.
            ("shExpMatch('axb', 'a.b')", false),
            // Anchored at both ends.
            ("shExpMatch('xwww.example.com', 'www.example.com')", false),
            (
                "shExpMatch('www.example.com.evil', 'www.example.com')",
                false,
            ),
            // Other characters keep their regular-expression meaning, as in browsers.
            ("shExpMatch('a.example.com', '[ab].example.com')", true),
            ("shExpMatch('c.example.com', '[ab].example.com')", false),
            ("shExpMatch(url, 'http://www.example.com/*')", true),
        ],
        FRIDAY_AFTERNOON,
    );
}

#[test]
fn name_and_address_helpers() {
    check_table(
        &[
            ("isResolvable('proxy.corp.example')", true),
            ("isResolvable('nx.example')", false),
            ("isResolvable('never-pinned.example')", false),
            ("dnsResolve('proxy.corp.example') === '10.1.2.3'", true),
            ("dnsResolve('PROXY.corp.example.') === '10.1.2.3'", true),
            // dnsResolve answers IPv4 only, the first IPv4 address (Chromium).
            ("dnsResolve('v6only.example') === null", true),
            ("dnsResolve('dual.example') === '192.0.2.7'", true),
            ("dnsResolve('nx.example') === null", true),
            ("dnsResolve('10.9.8.7') === '10.9.8.7'", true),
            ("isInNet('10.1.2.3', '10.0.0.0', '255.0.0.0')", true),
            ("isInNet('11.1.2.3', '10.0.0.0', '255.0.0.0')", false),
            (
                "isInNet('proxy.corp.example', '10.0.0.0', '255.0.0.0')",
                true,
            ),
            (
                "isInNet('proxy.corp.example', '10.0.0.0', '255.255.255.0')",
                false,
            ),
            ("isInNet('nx.example', '10.0.0.0', '255.0.0.0')", false),
            ("isInNet('192.168.1.5', '192.168.0.0', '255.255.0.0')", true),
            // The top bit set: compared unsigned.
            ("isInNet('200.1.2.3', '200.0.0.0', '255.0.0.0')", true),
            ("isInNet('200.1.2.3', '100.0.0.0', '128.0.0.0')", false),
            // A malformed pattern or mask is false, not an error.
            ("isInNet('10.1.2.3', '10.0.0', '255.0.0.0')", false),
            ("isInNet('10.1.2.3', '10.0.0.0', '255.0.0.256')", false),
            ("isInNet('10.1.2.3', '10.0.0.0', '0.0.0.0')", true),
            ("myIpAddress() === '127.0.0.1'", true),
            ("convert_addr('10.0.0.1') === 167772161", true),
            (
                "isValidIpAddress('1.2.3.4') && !isValidIpAddress('1.2.3.400')",
                true,
            ),
        ],
        FRIDAY_AFTERNOON,
    );
    let pac = pac_at(
        "return 'PROXY ' + myIpAddress() + ':8080';",
        FRIDAY_AFTERNOON,
        names().my_ip(ip("192.0.2.10")),
    );
    let Decision::Answer { answer, .. } = pac.evaluate_args("http://a/", "a").unwrap() else {
        panic!("no answer")
    };
    assert_eq!(answer.returned, "PROXY 192.0.2.10:8080");
}

#[test]
fn weekday_range() {
    check_table(
        &[
            ("weekdayRange('FRI')", true),
            ("weekdayRange('THU')", false),
            ("weekdayRange('MON', 'FRI')", true),
            ("weekdayRange('THU', 'SUN')", true),
            // A range wrapping over the weekend.
            ("weekdayRange('SAT', 'MON')", false),
            ("weekdayRange('FRI', 'MON')", true),
            ("weekdayRange('FRI', 'GMT')", true),
            // Day names are upper case, as in browsers.
            ("weekdayRange('fri')", false),
            ("weekdayRange('XYZ')", false),
            ("weekdayRange()", false),
        ],
        FRIDAY_AFTERNOON,
    );
    check_table(
        &[
            ("weekdayRange('SAT')", true),
            ("weekdayRange('SAT', 'GMT')", false),
            ("weekdayRange('FRI', 'GMT')", true),
        ],
        FRIDAY_NIGHT_UTC,
    );
}

#[test]
fn date_range() {
    check_table(
        &[
            ("dateRange(15)", true),
            ("dateRange(16)", false),
            ("dateRange('MAR')", true),
            ("dateRange('APR')", false),
            ("dateRange(2024)", true),
            ("dateRange(2023)", false),
            ("dateRange(1, 20)", true),
            ("dateRange(16, 31)", false),
            ("dateRange('JAN', 'MAR')", true),
            ("dateRange('APR', 'DEC')", false),
            // Ranges that wrap over the new year.
            ("dateRange('DEC', 'MAR')", true),
            ("dateRange('NOV', 'FEB')", false),
            ("dateRange(2020, 2030)", true),
            ("dateRange(1, 'MAR', 2024, 31, 'MAR', 2024)", true),
            ("dateRange(16, 'MAR', 2024, 20, 'MAR', 2024)", false),
            ("dateRange(15, 'GMT')", true),
            ("dateRange()", false),
        ],
        FRIDAY_AFTERNOON,
    );
    // Just after local midnight the local date is the 16th, the UTC date still the 15th.
    check_table(
        &[("dateRange(16)", true), ("dateRange(15, 'GMT')", true)],
        FRIDAY_NIGHT_UTC,
    );
}

#[test]
fn time_range() {
    check_table(
        &[
            ("timeRange(15)", true),
            ("timeRange(14)", false),
            ("timeRange(14, 'GMT')", true),
            ("timeRange(9, 17)", true),
            ("timeRange(16, 23)", false),
            ("timeRange(15, 0, 15, 30)", true),
            ("timeRange(15, 31, 16, 0)", false),
            ("timeRange(15, 30, 0, 15, 30, 30)", false),
            ("timeRange(15, 30, 0, 15, 30, 50)", true),
            // A range wrapping over midnight.
            ("timeRange(22, 0, 6, 0)", false),
            ("timeRange(15, 0, 6, 0)", true),
            ("timeRange()", false),
        ],
        FRIDAY_AFTERNOON,
    );
    let err = truth_at("timeRange(1, 2, 3)", FRIDAY_AFTERNOON).unwrap_err();
    assert_eq!(err.code(), "pac.runtime");
}

#[test]
fn helpers_throw_where_browsers_throw() {
    for expr in [
        "isPlainHostName(1)",
        "shExpMatch('x', '(')",
        "dnsDomainIs(undefined, '.a')",
        "noSuchHelper(host)",
    ] {
        let err = truth_at(expr, FRIDAY_AFTERNOON).unwrap_err();
        assert_eq!(err.code(), "pac.runtime", "{expr}");
        let pac = err.evidence().pac.as_deref().expect("pac evidence");
        // The frame in the script itself, not in the helper that threw.
        let loc = pac.location.as_deref().unwrap_or_default();
        assert!(loc.starts_with("1:"), "{expr}: {loc}");
        assert!(pac.exception.is_some(), "{expr}");
        assert_eq!(pac.limit, None);
    }
}

#[test]
fn alerts_and_lookups_are_kept_for_the_explanation() {
    let pac = pac_at(
        "alert('checking ' + host); alert({}); var ip = dnsResolve('proxy.corp.example'); isResolvable('nx.example'); dnsResolve('proxy.corp.example'); return 'DIRECT';",
        FRIDAY_AFTERNOON,
        names(),
    );
    let Decision::Answer { answer, .. } = pac
        .evaluate_args("https://a.example/", "a.example")
        .unwrap()
    else {
        panic!("no answer")
    };
    assert_eq!(answer.alerts, ["checking a.example", "[object Object]"]);
    let looked: Vec<_> = answer
        .lookups
        .iter()
        .map(|l| (l.host.as_str(), l.addresses.clone()))
        .collect();
    // Each name once per evaluation, in order.
    assert_eq!(
        looked,
        [
            ("proxy.corp.example", vec![ip("10.1.2.3")]),
            ("nx.example", vec![])
        ]
    );
    assert_eq!(answer.script, "helpers.pac");
    assert_eq!(answer.url, "https://a.example/");
    assert_eq!(answer.host, "a.example");
}

#[test]
fn alerts_are_bounded() {
    let pac = pac_at(
        "for (var i = 0; i < 100; i++) alert('x'.repeat(5000)); return 'DIRECT';",
        FRIDAY_AFTERNOON,
        names(),
    );
    let Decision::Answer { answer, .. } = pac.evaluate_args("https://a/", "a").unwrap() else {
        panic!("no answer")
    };
    assert_eq!(answer.alerts.len(), 16);
    assert!(
        answer
            .alerts
            .iter()
            .all(|a| a.len() <= 1024 + '…'.len_utf8())
    );
}
