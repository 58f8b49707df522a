//! Hostile and broken PAC scripts: each ends in its code — within the limit, never a hang, a
//! crash or an allocation failure — and the evaluator keeps working afterwards. Assertions are
//! on codes and evidence; the time limit is short so the suite stays fast, and no test measures
//! time.

use std::sync::Arc;
use std::time::Duration;

use proxyscope::pac::{Decision, Pac, PacLimits, PacOptions, PacScript};

fn limits() -> PacLimits {
    PacLimits {
        time: Duration::from_millis(200),
        memory: 16 * 1024 * 1024,
        ..PacLimits::default()
    }
}

fn load(src: &str) -> Result<Pac, proxyscope::Error> {
    Pac::new(
        PacScript::from_source(src, "hostile.pac")?,
        PacOptions::new().limits(limits()),
    )
}

fn body(body: &str) -> Pac {
    load(&format!(
        "function FindProxyForURL(url, host) {{\n{body}\n}}"
    ))
    .expect("loads")
}

fn eval(pac: &Pac) -> Result<Decision, proxyscope::Error> {
    pac.evaluate_args("https://www.example.com/", "www.example.com")
}

/// The error of evaluating `body`, with its code and the limit its evidence names.
fn failure(body_text: &str) -> (String, Option<String>, proxyscope::Error) {
    let err = eval(&body(body_text)).expect_err(body_text);
    let limit = err.evidence().pac.as_ref().and_then(|p| p.limit.clone());
    (err.code().to_owned(), limit, err)
}

#[test]
fn endless_loops_time_out() {
    for src in [
        "while (true) {}",
        "for (;;) { var x = 1; }",
        // The interrupt cannot be caught.
        "try { while (true) {} } catch (e) {} return 'DIRECT';",
        "for (var i = 0; i < 1e9; i++) for (var j = 0; j < 1e9; j++) {}",
        // Inside a callback of a built-in.
        "[1, 2, 3].map(function () { while (true) {} });",
        // Catastrophic backtracking in the regular-expression engine.
        "return /^(a+)+$/.test('a'.repeat(40) + '!') ? 'DIRECT' : 'DIRECT';",
        "return shExpMatch('a'.repeat(30000), '*a*a*a*a*a*a*a*a*b') ? 'DIRECT' : 'DIRECT';",
        // An exception whose message getter never returns.
        "throw { get message() { while (true) {} }, toString: function () { while (true) {} } };",
    ] {
        let (code, limit, err) = failure(src);
        assert_eq!(code, "pac.timeout", "{src}: {}", err.report());
        assert_eq!(limit.as_deref(), Some("time"), "{src}");
        assert_eq!(err.evidence().timeout, Some(Duration::from_millis(200)));
        assert_eq!(err.hop(), None);
        assert_eq!(err.phase(), proxyscope::Phase::Config);
    }
}

#[test]
fn runaway_allocation_hits_the_memory_limit() {
    for src in [
        "var s = 'x'; while (true) s = s + s;",
        "return 'x'.repeat(1 << 29);",
        "var a = []; while (true) a.push(new Array(10000).fill(1));",
        "var o = {}; for (var i = 0; ; i++) o['k' + i] = i;",
        "return JSON.stringify(new Array(1 << 24).fill('abcdefgh'));",
    ] {
        let (code, limit, err) = failure(src);
        // Either the memory limit or, for a loop slower than the allocator, the time limit.
        match (code.as_str(), limit.as_deref()) {
            ("pac.runtime", Some("memory")) | ("pac.timeout", Some("time")) => {}
            other => panic!("{src}: {other:?}\n{}", err.report()),
        }
    }
    // Doubling a string reaches the engine's string length limit (strings are concatenated
    // lazily) before the memory limit: reported the same way.
    let (code, limit, err) = failure("var s = 'x'; for (var i = 0; i < 40; i++) s += s; return s;");
    assert_eq!(code, "pac.runtime", "{}", err.report());
    assert_eq!(limit.as_deref(), Some("memory"));
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    for src in [
        "function f(n) { return f(n + 1) + 1; } return f(0);",
        "function a() { return b(); } function b() { return a(); } return a();",
        "var o = {}; o.toString = function () { return String(o); }; return String(o);",
        "return JSON.parse('['.repeat(1000000));",
    ] {
        let (code, limit, err) = failure(src);
        assert_eq!(code, "pac.runtime", "{src}: {}", err.report());
        assert_eq!(limit.as_deref(), Some("stack"), "{src}: {}", err.report());
    }
}

#[test]
fn throwing_scripts_are_runtime_errors_with_the_line() {
    let (code, limit, err) = failure("var x = 1;\n  throw new Error('boom');");
    assert_eq!(code, "pac.runtime");
    assert_eq!(limit, None);
    let pac = err.evidence().pac.as_deref().unwrap();
    assert_eq!(pac.exception.as_deref(), Some("Error: boom"));
    assert!(
        pac.location.as_deref().unwrap().starts_with("3:"),
        "{pac:?}"
    );
    assert_eq!(pac.url.as_deref(), Some("https://www.example.com/"));
    assert_eq!(pac.host.as_deref(), Some("www.example.com"));
    assert_eq!(pac.script, "hostile.pac");

    let (code, _, err) = failure("throw 'plain string';");
    assert_eq!(code, "pac.runtime");
    assert!(
        err.evidence()
            .pac
            .as_ref()
            .unwrap()
            .exception
            .as_deref()
            .unwrap()
            .contains("plain string")
    );
    let (code, _, _) = failure("return undefinedVariable;");
    assert_eq!(code, "pac.runtime");
}

#[test]
fn non_string_and_unusable_answers_are_result_errors() {
    for (src, returned) in [
        ("return;", "not a string: undefined"),
        ("return null;", "not a string: null"),
        ("return 42;", "not a string: int"),
        ("return {};", "not a string: object"),
        ("return ['DIRECT'];", "not a string: array"),
        ("return true;", "not a string: bool"),
        ("return '';", ""),
        ("return '   ;  ; ';", "   ;  ; "),
        ("return 'GARBAGE';", "GARBAGE"),
        ("return 'PROXY :80; SOCKS5';", "PROXY :80; SOCKS5"),
    ] {
        let err = eval(&body(src)).expect_err(src);
        assert_eq!(err.code(), "pac.result", "{src}");
        let pac = err.evidence().pac.as_deref().unwrap();
        assert_eq!(pac.returned.as_deref(), Some(returned), "{src}");
    }
    // One bad entry among good ones is a diagnostic, not an error.
    let Decision::Answer { answer, .. } = eval(&body("return 'FTP x:1; PROXY a:3128';")).unwrap()
    else {
        panic!()
    };
    assert_eq!(answer.result.entries.len(), 1);
    assert_eq!(answer.result.diagnostics.len(), 1);
}

#[test]
fn load_failures_have_their_codes() {
    let err =
        load("function FindProxyForURL(url, host) {\n  return 'DIRECT'\n  if (\n}").unwrap_err();
    assert_eq!(err.code(), "pac.syntax");
    let pac = err.evidence().pac.as_deref().unwrap();
    assert!(
        pac.location.as_deref().unwrap().starts_with("4:"),
        "{pac:?}"
    );
    assert!(pac.exception.as_deref().unwrap().starts_with("SyntaxError"));

    let err = load("while (true) {}").unwrap_err();
    assert_eq!(err.code(), "pac.timeout");
    let err = load("var s = 'x'; while (true) s += s;").unwrap_err();
    assert_eq!(err.code(), "pac.runtime");
    let err = load("throw new TypeError('at load');").unwrap_err();
    assert_eq!(err.code(), "pac.runtime");

    // Loads (there is nothing wrong with the text), but has no FindProxyForURL to call.
    let pac = load("var FindProxyForUrl = 1;").unwrap();
    assert_eq!(eval(&pac).unwrap_err().code(), "pac.runtime");

    let err =
        PacScript::from_source("x".repeat(proxyscope::pac::MAX_SCRIPT_LEN + 1), "big").unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    let err = PacScript::from_file("/nonexistent/proxy.pac").unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    assert_eq!(
        err.evidence().file.as_deref(),
        Some("/nonexistent/proxy.pac")
    );
    let err = PacScript::from_file("/").unwrap_err();
    assert_eq!(err.code(), "config.invalid");
}

#[test]
fn binary_and_nul_bytes_are_just_bad_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.pac");
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    assert_eq!(
        PacScript::from_file(&path).unwrap_err().code(),
        "config.invalid"
    );
    let err =
        load("function FindProxyForURL(u, h) {\n return 'DIRECT'; }\u{0}garbage").unwrap_err();
    assert_eq!(err.code(), "pac.syntax");
    let pac = err.evidence().pac.as_deref().unwrap();
    assert_eq!(pac.location.as_deref(), Some("2:20"));
}

#[test]
fn the_script_reaches_nothing_outside() {
    let pac = body(
        "var reachable = [typeof require, typeof process, typeof std, typeof os, typeof fetch,
            typeof XMLHttpRequest, typeof WebSocket, typeof setTimeout, typeof Deno,
            typeof __proxyscope_pac, typeof print, typeof console, typeof scriptArgs];
         for (var i = 0; i < reachable.length; i++)
             if (reachable[i] !== 'undefined') return 'PROXY leak-' + i + ':1';
         return 'DIRECT';",
    );
    let Decision::Answer { answer, .. } = eval(&pac).unwrap() else {
        panic!()
    };
    assert_eq!(answer.returned, "DIRECT");
    // Dynamic import has no loader to reach a file with: it fails, the script goes on.
    let pac = body("try { import('/etc/passwd'); } catch (e) {} return 'DIRECT';");
    assert!(matches!(eval(&pac), Ok(Decision::Answer { .. })));
}

#[test]
fn the_evaluator_recovers_after_each_limit() {
    let pac = body(
        "if (host === 'loop.example') while (true) {}
         if (host === 'grow.example') { var s = 'x'; while (true) s += s; }
         if (host === 'deep.example') { var f = function () { return f(); }; f(); }
         return 'DIRECT';",
    );
    for (host, code) in [
        ("loop.example", "pac.timeout"),
        ("grow.example", "pac.runtime"),
        ("deep.example", "pac.runtime"),
    ] {
        for _ in 0..3 {
            let err = pac
                .evaluate_args(&format!("https://{host}/"), host)
                .unwrap_err();
            assert_eq!(err.code(), code, "{host}");
            assert!(matches!(
                pac.evaluate_args("https://ok.example/", "ok.example"),
                Ok(Decision::Answer { .. })
            ));
        }
    }
}

#[test]
fn concurrent_callers_share_the_engines() {
    let pac = Arc::new(body("return 'PROXY ' + host + ':3128';"));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let pac = pac.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let host = format!("h{t}-{i}.example");
                    let Decision::Answer { answer, .. } = pac
                        .evaluate_args(&format!("https://{host}/"), &host)
                        .unwrap()
                    else {
                        panic!()
                    };
                    assert_eq!(answer.returned, format!("PROXY {host}:3128"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// A resolver that never answers: every lookup waits until the caller gives up.
struct Silent(Arc<std::sync::atomic::AtomicUsize>);

impl proxyscope::connect::Resolve for Silent {
    fn resolve(&self, _host: &str) -> proxyscope::connect::Resolving {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(std::future::pending())
    }
}

/// A script that asks about a hundred names the resolver never answers: the connector resolves
/// the names a script asked about before deciding again, four rounds of up to 32 names. Those
/// lookups were made one after another, each with the whole connect timeout, and no request
/// deadline bounded them: 128 times `timeouts.connect` (21 minutes by default) before the
/// connection. They share one deadline — `timeouts.connect`, or the request's own when sooner —
/// and run at once; names still unanswered then count as not resolving, as after the last
/// round. Only the first round's lookups run (the resolver never answers them); the request
/// then goes DIRECT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_a_script_asks_about_share_one_deadline() {
    use proxyscope::testing::TestOrigin;
    use proxyscope::{Client, EnvSnapshot, Phase, Settings};
    use std::io::Write as _;

    let origin = TestOrigin::http().await;
    let mut pac = tempfile::NamedTempFile::new().unwrap();
    pac.write_all(
        br#"function FindProxyForURL(url, host) {
    for (var i = 0; i < 100; i++) {
        if (dnsResolve("h" + i + ".silent.test")) return "PROXY 127.0.0.1:1";
    }
    return "DIRECT";
}"#,
    )
    .unwrap();
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let connect = Duration::from_millis(200);
    let client = Client::builder()
        .global(
            Settings::new()
                .with_pac(pac.path())
                .with_timeout(Phase::Connect, connect),
        )
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(proxyscope::connect::Resolver::custom(Silent(asked.clone())))
        .build()
        .unwrap();
    // The request's own deadline is generous next to `connect` and far short of 128 lookups
    // of `connect` each (25.6 s): before, it ran out while names were still being looked up.
    let res = tokio::time::timeout(
        Duration::from_secs(60),
        client
            .get(origin.url("/"))
            .timeout(Duration::from_secs(5))
            .send(),
    )
    .await
    .expect("never a hang")
    .unwrap_or_else(|e| panic!("{}", e.report()));
    assert_eq!(res.status(), 200);
    // Only the first round's 32 names were looked up, together, until the one deadline; the
    // later rounds found the time spent and counted their names as not resolving.
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 32);
    // What the client learned decides the route now: every name unanswered, so DIRECT.
    let route = client.route(None, origin.url("/")).unwrap();
    let c = route.candidates().expect("a PAC route");
    assert!(c.pending.is_empty(), "{:?}", c.pending);
    assert_eq!(c.entries[c.used.unwrap()].entry, "DIRECT");
    let facts = c.pac.as_ref().unwrap();
    assert!(
        facts.lookups.iter().any(|l| l == "h0.silent.test = (none)"),
        "{:?}",
        facts.lookups
    );
}

/// What the script hands the host escapes the engine's memory limit: a returned string, the
/// names it asks about. Each answer is cached (1024 of them), each name recorded with it: 32
/// answers of 4 MiB grew the process by 145 MB, 32 answers that each asked about 32 names of
/// 4 MiB by 4.4 GB. The host keeps what it reads of an answer (64 KiB) and no name longer than
/// DNS allows (255 bytes).
#[tokio::test]
async fn huge_answers_and_names_are_not_kept_past_what_is_read() {
    use super::peak::{self, mib};
    use proxyscope::pac::{MAX_RESULT_LEN, PinnedNames};

    let _one = peak::LOCK.lock().await;
    for (what, src) in [
        ("a 1 MiB answer", "return 'DIRECT; ' + 'x'.repeat(1 << 20);"),
        (
            "1 MiB names",
            "var n = 'x'.repeat(1 << 20); for (var i = 0; i < 32; i++) dnsResolve(i + n); return 'DIRECT';",
        ),
    ] {
        let pac = Pac::new(
            PacScript::from_source(
                format!("function FindProxyForURL(url, host) {{\n{src}\n}}"),
                "hostile.pac",
            )
            .unwrap(),
            PacOptions::new()
                .limits(PacLimits {
                    time: Duration::from_secs(5),
                    memory: 64 * 1024 * 1024,
                    ..PacLimits::default()
                })
                .resolver(PinnedNames::new()),
        )
        .unwrap();
        let (answers, grew) = peak::measure(async {
            (0..16)
                .map(|i| {
                    let url = url::Url::parse(&format!("http://h{i}.test/")).unwrap();
                    match pac.find_proxy(&url).unwrap() {
                        Decision::Answer { answer, .. } => answer,
                        other => panic!("{what}: {other:?}"),
                    }
                })
                .collect::<Vec<_>>()
        })
        .await;
        assert_eq!(pac.cached(), 16, "{what}");
        for a in &answers {
            assert_eq!(a.result.entries.len(), 1, "{what}");
            assert!(a.returned.len() <= MAX_RESULT_LEN + 3, "{what}");
            assert!(a.lookups.iter().all(|l| l.host.len() <= 255), "{what}");
        }
        // Engines (64 MiB each at most) and transient copies, not 16 answers of megabytes.
        assert!(grew < mib(96), "{what}: peak grew {grew} bytes");
    }
}
