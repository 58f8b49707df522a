//! Every PAC helper against the semantics browsers give it, one expression per row: each runs as
//! `FindProxyForURL` returning `DIRECT` when the expression is true, with names pinned and the
//! clock fixed at Friday 2024-03-15 14:30:45 UTC, local time UTC+1 (15:30:45).

use std::net::IpAddr;
use std::time::Duration;

use proxyscope::pac::{Decision, FixedClock, Pac, PacLimits, PacOptions, PacScript, PinnedNames};

/// 2024-03-15T14:30:45Z, a Friday.
const FRIDAY_AFTERNOON: u64 = 1_710_513_045;
/// 2024-03-01T12:00:00Z, 13:00 local.
const MARCH_FIRST: u64 = 1_709_294_400;
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
        .pin("xn--bcher-kva.example", [ip("192.0.2.44")])
}

fn pac_at(body: &str, unix: u64, resolver: PinnedNames) -> Pac {
    pac_with(body, unix, resolver, PacLimits::default())
}

/// `body` as FindProxyForURL at `unix` (UTC+1), names from `resolver`, within `limits`.
fn pac_with(body: &str, unix: u64, resolver: PinnedNames, limits: PacLimits) -> Pac {
    let script = PacScript::from_source(
        format!("function FindProxyForURL(url, host) {{ {body} }}"),
        "helpers.pac",
    )
    .unwrap();
    let options = PacOptions::new()
        .resolver(resolver)
        .clock(FixedClock::at_unix(unix, 60))
        .limits(limits);
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
            // An IP literal has no dot but is not a plain name (Chromium), and IPv4 literals
            // take every form a URL host may take.
            ("isPlainHostName('::1')", false),
            ("isPlainHostName('0x7f000001')", false),
            ("isPlainHostName('1234')", false),
            // Brackets, zones and stray colons make no literal: a plain name.
            ("isPlainHostName('[::1]')", true),
            ("isPlainHostName('foopy::1')", true),
            ("isPlainHostName(':')", true),
            ("isPlainHostName('www', 'extra', 'args')", true),
            // The error scripts written for Chromium compare.
            (
                "(function () { try { isPlainHostName(); } catch (e) { return String(e) === 'TypeError: Requires 1 string parameter'; } })()",
                true,
            ),
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
            // A name that is not a string is not looked up (Chromium).
            ("dnsResolve(42) === null && dnsResolve() === null", true),
            // A name with non-ASCII characters is looked up in its ASCII (IDNA) form.
            ("dnsResolve('bücher.example') === '192.0.2.44'", true),
            ("dnsResolve('BÜCHER.example') === '192.0.2.44'", true),
            ("dnsResolve('a\\u0000b.example') === null", true),
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
    // As in browsers, the end of the range starts on December 31st and takes the month
    // named: "FEB" makes it February 31st, which rolls over to March 2nd (2024).
    check_table(
        &[
            ("dateRange('SEP', 'FEB')", true),
            ("dateRange('SEP', 'JAN')", false),
        ],
        MARCH_FIRST,
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

#[test]
fn ipv6_extension_helpers() {
    check_table(
        &[
            // Every address of both families, in the resolver's order; "" when none.
            (
                "dnsResolveEx('dual.example') === '2001:db8::2;192.0.2.7'",
                true,
            ),
            ("dnsResolveEx('v6only.example') === '2001:db8::1'", true),
            ("dnsResolveEx('nx.example') === ''", true),
            ("dnsResolveEx('never-pinned.example') === ''", true),
            ("dnsResolveEx('10.9.8.7') === '10.9.8.7'", true),
            ("dnsResolveEx('bücher.example') === '192.0.2.44'", true),
            // Chromium answers nothing at all for a name that is not a string.
            ("dnsResolveEx(42) === undefined", true),
            ("isResolvableEx('v6only.example')", true),
            ("isResolvableEx('nx.example')", false),
            // No address of its own: the loopback, as Chromium answers.
            ("myIpAddressEx() === '127.0.0.1'", true),
            // isInNetEx: an IP literal against a CIDR prefix; IPv4 against IPv6 compares as
            // IPv4-mapped IPv6.
            ("isInNetEx('198.95.249.79', '198.95.249.79/32')", true),
            ("isInNetEx('198.95.249.78', '198.95.249.79/32')", false),
            ("isInNetEx('198.95.1.1', '198.95.3.3/16')", true),
            (
                "isInNetEx('3ffe:8311:ffff:abcd::101', '3ffe:8311:ffff::/48')",
                true,
            ),
            (
                "isInNetEx('3fff:8311:ffff:abcd::101', '3ffe:8311:ffff::/48')",
                false,
            ),
            ("isInNetEx('127.0.0.1', '::7f00:1/16')", true),
            ("isInNetEx('192.168.1.1', '::ffff:192.168.1.1/112')", true),
            ("isInNetEx('::ffff:192.168.100.5', '192.168.1.1/16')", true),
            ("isInNetEx('::ffff:10.168.100.5', '192.168.1.1/16')", false),
            ("isInNetEx('10.0.0.1', ' 10.0.0.0 / 8 ')", true),
            // Names are not resolved; malformed addresses and prefixes are false.
            ("isInNetEx('proxy.corp.example', '10.0.0.0/8')", false),
            ("isInNetEx('127.0.0.1 ', '127.0.0.1/32')", false),
            ("isInNetEx('256.0.0.1', '0.0.0.0/0')", false),
            ("isInNetEx('198.95.115.10', '198.95.0.0/34')", false),
            ("isInNetEx('127.0.0.1', '127.0.0.1')", false),
            ("isInNetEx('127.0.0.1', '127.0.0.1/x')", false),
            ("isInNetEx('é', '10.0.0.0/8') === false", true),
            // Missing or non-string arguments: null.
            ("isInNetEx() === null", true),
            ("isInNetEx('10.0.0.1') === null", true),
            ("isInNetEx(null, null) === null", true),
            // sortIpAddressList: IPv6 first, then IPv4, each ascending; entries keep their
            // spelling; blanks and empty entries are dropped; equal addresses keep their order.
            (
                "sortIpAddressList('157.59.139.22;2001:4898:28:3:201:2ff:feea:fc14;fe80::5efe:157:9d3b:8b16') === '2001:4898:28:3:201:2ff:feea:fc14;fe80::5efe:157:9d3b:8b16;157.59.139.22'",
                true,
            ),
            (
                "sortIpAddressList('192.168.1.1;0:0::1') === '0:0::1;192.168.1.1'",
                true,
            ),
            (
                "sortIpAddressList('0::1;::1;0:0::1') === '0::1;::1;0:0::1'",
                true,
            ),
            ("sortIpAddressList(';127.0.0.1;') === '127.0.0.1'", true),
            (
                "sortIpAddressList('127.0.0.1;\t127.0.0.2;\t 127.0.0.0') === '127.0.0.0;127.0.0.1;127.0.0.2'",
                true,
            ),
            ("sortIpAddressList('') === false", true),
            ("sortIpAddressList(' ;  ; ') === false", true),
            ("sortIpAddressList('256.0.0.1') === false", true),
            ("sortIpAddressList('192.168.1.1;0:0:0:1') === false", true),
            ("sortIpAddressList() === null", true),
            ("sortIpAddressList(null) === null", true),
        ],
        FRIDAY_AFTERNOON,
    );
    let pac = pac_at(
        "return 'PROXY ' + myIpAddress() + ':1; PROXY ' + myIpAddressEx().replace(/;/g, '-').replace(/:/g, '_') + ':2';",
        FRIDAY_AFTERNOON,
        names().my_ips([ip("2001:db8::9"), ip("192.0.2.10")]),
    );
    let Decision::Answer { answer, .. } = pac.evaluate_args("http://a/", "a").unwrap() else {
        panic!("no answer")
    };
    // myIpAddress gives the IPv4 address, myIpAddressEx every address.
    assert_eq!(
        answer.returned,
        "PROXY 192.0.2.10:1; PROXY 2001_db8__9-192.0.2.10:2"
    );
}

#[test]
fn ipv6_extension_helpers_are_bounded() {
    // A time limit generous enough that a loaded machine never turns a memory or size test
    // into a timeout.
    let pac_with_limits = |body: &str, limits| pac_with(body, FRIDAY_AFTERNOON, names(), limits);
    let unhurried = PacLimits {
        time: Duration::from_secs(60),
        ..PacLimits::default()
    };
    let pac = pac_with_limits(
        "var list = sortIpAddressList('10.0.0.2;10.0.0.1;'.repeat(5000));
         var huge = '1'.repeat(1 << 20);
         if (sortIpAddressList(huge) !== false) return 'PROXY sort-huge.invalid:1';
         if (isInNetEx(huge, '0.0.0.0/0') !== false) return 'PROXY net-huge.invalid:1';
         if (isInNetEx('10.0.0.1', huge) !== false) return 'PROXY prefix-huge.invalid:1';
         if (dnsResolveEx(huge) !== '') return 'PROXY dns-huge.invalid:1';
         if (isPlainHostName(huge) !== true) return 'PROXY plain-huge.invalid:1';
         return list.length === 9 * 10000 - 1 && list.lastIndexOf('10.0.0.1') === 9 * 4999 && list.indexOf('10.0.0.2') === 9 * 5000
             ? 'DIRECT' : 'PROXY sort.invalid:1';",
        unhurried,
    );
    let Decision::Answer { answer, .. } = pac.evaluate_args("http://a/", "a").unwrap() else {
        panic!("no answer")
    };
    assert_eq!(answer.returned, "DIRECT");
    // A name too long for DNS is neither asked about nor recorded.
    assert!(answer.lookups.is_empty(), "{:?}", answer.lookups);
    // A list too long to sort within the engine's memory ends in its limit, coded.
    let pac = pac_with_limits(
        "return sortIpAddressList('10.0.0.1;'.repeat(400000)) ? 'DIRECT' : 'PROXY x.invalid:1';",
        PacLimits {
            memory: 8 << 20,
            ..unhurried
        },
    );
    let err = pac.evaluate_args("http://a/", "a").unwrap_err();
    assert_eq!(err.code(), "pac.runtime");
    assert_eq!(err.phase(), proxyscope::Phase::Config);
    assert_eq!(err.hop(), None);
    let evidence = err.evidence().pac.as_deref().expect("pac evidence");
    assert_eq!(evidence.limit.as_deref(), Some("memory"));
    assert_eq!(evidence.script, "helpers.pac");
}

#[test]
fn a_script_defining_only_the_ipv6_entry_point_is_called_through_it() {
    let ex_only = PacScript::from_source(
        "function FindProxyForURLEx(url, host) { return 'PROXY ex.example:3128'; }",
        "ex.pac",
    )
    .unwrap();
    let both = PacScript::from_source(
        "function FindProxyForURLEx(url, host) { return 'PROXY ex.example:3128'; }
         function FindProxyForURL(url, host) { return 'PROXY plain.example:3128'; }",
        "both.pac",
    )
    .unwrap();
    for (script, want) in [
        (ex_only, "PROXY ex.example:3128"),
        // Both defined: FindProxyForURL, as Chromium calls it.
        (both, "PROXY plain.example:3128"),
    ] {
        let pac = Pac::new(script, PacOptions::new()).unwrap();
        let Decision::Answer { answer, .. } = pac.evaluate_args("http://a/", "a").unwrap() else {
            panic!("no answer")
        };
        assert_eq!(answer.returned, want);
    }
    let neither = PacScript::from_source("var x = 1;", "neither.pac").unwrap();
    let err = Pac::new(neither, PacOptions::new())
        .unwrap()
        .evaluate_args("http://a/", "a")
        .unwrap_err();
    assert_eq!(err.code(), "pac.runtime");
    assert!(err.evidence().pac.as_deref().unwrap().exception.is_some());
}

/// A script may replace the global `Date` (test scripts do, to fix the day): the time helpers
/// then read "now" from it, as browsers' helpers do, instead of the configured clock.
#[test]
fn the_time_helpers_follow_a_date_the_script_put_in_place() {
    let fixed = "var Native = Date;
        function Fixed() { this.d = new Native(Fixed.now); }
        ['valueOf', 'getTime', 'getFullYear', 'getUTCFullYear', 'getMonth', 'getUTCMonth',
         'getDate', 'getUTCDate', 'getDay', 'getUTCDay', 'getHours', 'getUTCHours',
         'getMinutes', 'getUTCMinutes', 'getSeconds', 'getUTCSeconds', 'setFullYear',
         'setMonth', 'setDate', 'setHours', 'setMinutes', 'setSeconds'].forEach(function (m) {
            Fixed.prototype[m] = function () { return this.d[m].apply(this.d, arguments); };
        });
        Date = Fixed;";
    let rows: &[(&str, &str, bool)] = &[
        // The configured clock says Friday 2024-03-15; the script's Date says otherwise.
        ("2009-03-03T10:00:00", "weekdayRange('TUE')", true),
        ("2009-03-03T10:00:00", "weekdayRange('FRI')", false),
        ("2009-03-03T10:00:00", "dateRange(3, 'MAR', 2009)", true),
        ("2009-03-03T10:00:00", "dateRange(2024)", false),
        ("2009-03-03T10:00:00", "timeRange(10)", true),
        ("2009-03-03T03:34:14", "timeRange(1, 0, 0, 3, 34, 14)", true),
        ("2009-03-03T03:34:14", "timeRange(1, 0, 0, 3, 34, 0)", false),
        // Bounds built from a date type that ignores its arguments, as a mock does: the
        // end of dateRange('SEP', 'FEB') is February 3rd, not a rolled-over February 31st.
        ("2009-03-03T00:00:00", "dateRange('SEP', 'FEB')", false),
        (
            "2009-03-03T00:00:00",
            "dateRange(4, 'SEP', 3, 'FEB')",
            false,
        ),
        ("2009-03-03T00:00:00", "dateRange('MAR', 'JAN')", true),
    ];
    let mut wrong = Vec::new();
    for (now, expr, want) in rows {
        let script = PacScript::from_source(
            format!(
                "{fixed}
                 function FindProxyForURL(url, host) {{
                     Fixed.now = '{now}';
                     return ({expr}) ? 'DIRECT' : 'PROXY false.invalid:1';
                 }}"
            ),
            "fixed-date.pac",
        )
        .unwrap();
        let options = PacOptions::new().clock(FixedClock::at_unix(FRIDAY_AFTERNOON, 60));
        let pac = Pac::new(script, options).unwrap();
        match pac.evaluate_args("http://a/", "a") {
            Ok(Decision::Answer { answer, .. }) if (answer.returned == "DIRECT") == *want => {}
            Ok(other) => wrong.push(format!("{now} {expr}: {other:?}")),
            Err(e) => wrong.push(format!("{now} {expr}: {}", e.report())),
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
