//! Every command in README.md runs, and every configuration in it loads. (Its Rust snippets are
//! compiled as doctests: the `ReadmeDoctests` item in src/lib.rs.)
//!
//! Shell commands come from ```sh blocks (one per line, `# comments` dropped) and ```console
//! blocks (`$ ` lines; the lines after one are output the real run must print, in order, with
//! `...` for the lines left out). `cargo run --example NAME -- ARGS` runs the example binary
//! `cargo build --examples` built, with the README's environment assignments and nothing else
//! from the test's environment, in a directory whose `proxyscope.toml` points at harness servers
//! on loopback — never at the README's example hosts. A command that cannot run here is in
//! [`NOT_RUN`] with the reason; a command that is neither runs nor is listed fails the test, and
//! so does a listed command that is no longer in the README.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::common::probe::{example_bin_with, toml_str, without_route_vars};
use proxyscope::EnvSnapshot;
use proxyscope::config::ConfigDocument;
use proxyscope::testing::{TestOrigin, TestProxy};

/// README commands this test does not run, and why.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "scripts/test",
        "the whole suite, this test included: running it from a test would recurse",
    ),
    (
        "cargo run --example probe -- serve --config proxyscope.toml",
        "an exporter that runs until stopped on the fixed port 127.0.0.1:9115, which another test \
         run on the same machine may hold; tests/real_proxy/exporter runs `probe serve` on free ports",
    ),
];

/// A fenced code block: its info string and its lines.
struct Block {
    lang: String,
    lines: Vec<String>,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for line in markdown.lines() {
        if let Some(info) = line.strip_prefix("```") {
            match open.take() {
                Some(b) => out.push(b),
                None => {
                    open = Some(Block {
                        lang: info.trim().to_owned(),
                        lines: Vec::new(),
                    })
                }
            }
        } else if let Some(b) = &mut open {
            b.lines.push(line.to_owned());
        }
    }
    assert!(open.is_none(), "README.md has an unclosed code block");
    out
}

/// A README command and the output lines it promises (console blocks only).
#[derive(Debug)]
struct Cmd {
    line: String,
    expect: Vec<String>,
}

fn commands(blocks: &[Block]) -> Vec<Cmd> {
    let mut out: Vec<Cmd> = Vec::new();
    for b in blocks {
        match b.lang.as_str() {
            "sh" | "bash" | "shell" => {
                for l in &b.lines {
                    let l = strip_comment(l);
                    if !l.is_empty() {
                        out.push(Cmd {
                            line: l,
                            expect: Vec::new(),
                        });
                    }
                }
            }
            "console" => {
                let mut current: Option<Cmd> = None;
                for l in &b.lines {
                    if let Some(c) = l.strip_prefix("$ ") {
                        out.extend(current.take());
                        current = Some(Cmd {
                            line: strip_comment(c),
                            expect: Vec::new(),
                        });
                    } else if let Some(c) = &mut current {
                        c.expect.push(l.clone());
                    }
                }
                out.extend(current);
            }
            _ => {}
        }
    }
    out
}

/// `line` without a trailing `# comment` (a `#` after a blank, outside quotes), trimmed.
fn strip_comment(line: &str) -> String {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return line[..i].trim().to_owned(),
            _ => {}
        }
        prev = c;
    }
    line.trim().to_owned()
}

/// Shell words: blanks separate, single and double quotes group (no escapes or expansions are
/// used in the README's commands).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// A `[VAR=value ...] cargo run [-q] --example NAME [-- ARGS]` command, taken apart.
#[derive(Debug, PartialEq)]
struct ExampleRun {
    env: BTreeMap<String, String>,
    example: String,
    args: Vec<String>,
}

fn example_run(line: &str) -> Option<ExampleRun> {
    let mut w = words(line).into_iter().peekable();
    let mut env = BTreeMap::new();
    while let Some((k, v)) = w.peek().and_then(|x| x.split_once('=')) {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            break;
        }
        env.insert(k.to_owned(), v.to_owned());
        w.next();
    }
    if w.next()? != "cargo" || w.next()? != "run" {
        return None;
    }
    let mut example = None;
    let mut args = Vec::new();
    while let Some(x) = w.next() {
        match x.as_str() {
            "-q" | "--quiet" => {}
            "--example" => example = w.next(),
            "--" => args.extend(w.by_ref()),
            _ => return None,
        }
    }
    Some(ExampleRun {
        env,
        example: example?,
        args,
    })
}

/// Ports and other numbers after a colon change from run to run.
fn normalise(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line.trim_end();
    while let Some(i) = rest.find(':') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if (4..=5).contains(&digits) {
            out.push_str("PORT");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// The README's output lines appear in `actual`, in order (`...` skips any number of lines).
fn shows(expect: &[String], actual: &str) -> Result<(), String> {
    let actual: Vec<String> = actual.lines().map(normalise).collect();
    let mut at = 0;
    for e in expect {
        if e.trim() == "..." || e.trim().is_empty() {
            continue;
        }
        let want = normalise(e);
        match actual[at..].iter().position(|a| *a == want) {
            Some(i) => at += i + 1,
            None => return Err(format!("missing (in order): {want:?}")),
        }
    }
    Ok(())
}

/// Runs a probe command in `dir`; returns its exit code, stdout and stderr.
async fn run_probe(run: &ExampleRun, dir: &Path) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(example_bin_with("probe", "route"));
    cmd.args(&run.args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    without_route_vars(&mut cmd);
    cmd.envs(&run.env);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the probe finishes within a minute")
        .expect("the probe starts");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts the service as the README says, waits for its URL, asks `/_info`, stops it with
/// SIGTERM (what Ctrl-C and an init system send) and returns its exit code and stdout.
async fn run_service(run: &ExampleRun) -> (Option<i32>, String) {
    let mut cmd = Command::new(example_bin_with("translation_service", "SIGTERM"));
    cmd.args(&run.args)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    without_route_vars(&mut cmd);
    cmd.envs(&run.env);
    let mut child = cmd.spawn().expect("the service starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        let mut line = String::new();
        loop {
            line.clear();
            let n = lines.read_line(&mut line).await.expect("read stdout");
            assert!(n > 0, "the service exited early:\n{printed}");
            printed.push_str(&line);
            if let Some(u) = line
                .trim()
                .strip_prefix("translation_service listening on ")
            {
                return u.to_owned();
            }
        }
    })
    .await
    .expect("the service printed its URL within 30 s");
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /_info HTTP/1.1\r\nhost: svc\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.expect("read");
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "/_info answered: {answer}"
    );
    let pid = child
        .id()
        .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?))
        .expect("running");
    kill_process(pid, Signal::TERM).expect("SIGTERM");
    let mut rest = String::new();
    let _ = lines.read_to_string(&mut rest).await;
    printed.push_str(&rest);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the service stops within 20 s of SIGTERM")
        .expect("wait");
    (status.code(), printed)
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_command_runs_or_is_listed_with_the_reason() {
    let text = readme();
    let cmds = commands(&blocks(&text));
    assert!(
        cmds.len() >= 5,
        "the README's commands were not found: {cmds:?}"
    );

    // `proxyscope.toml` for the README's `--config proxyscope.toml`: the README's shape (a
    // global proxy, a direct provider, one behind its own proxy with a check), on loopback.
    let apertium = TestOrigin::http().await;
    let yandex = TestOrigin::http().await;
    let global = TestProxy::allow_all().await;
    let egress = TestProxy::allow_all().await;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("proxyscope.toml"),
        format!(
            r#"proxy = {global}
no_proxy = ["localhost"]
[timeouts]
connect = "5s"

[providers.apertium]
url = {apertium}
proxy = "direct"

[providers.yandex]
url = {yandex}
proxy = {egress}
[[providers.yandex.checks]]
name = "home"
path = "/"
expect_status = 200
body_contains = "ok"
"#,
            global = toml_str(global.url()),
            apertium = toml_str(apertium.url("")),
            yandex = toml_str(yandex.url("")),
            egress = toml_str(egress.url()),
        ),
    )
    .expect("write proxyscope.toml");

    let mut failures = Vec::new();
    let mut ran = 0;
    for c in &cmds {
        if let Some((_, why)) = NOT_RUN.iter().find(|(l, _)| *l == c.line) {
            assert!(!why.is_empty());
            continue;
        }
        let Some(run) = example_run(&c.line) else {
            failures.push(format!(
                "`{}` is neither run by this test nor listed in NOT_RUN with a reason",
                c.line
            ));
            continue;
        };
        let (code, stdout, stderr) = match run.example.as_str() {
            "probe" => run_probe(&run, dir.path()).await,
            "translation_service" => {
                let (code, out) = run_service(&run).await;
                (code, out, String::new())
            }
            other => {
                failures.push(format!("`{}`: no example named {other}", c.line));
                continue;
            }
        };
        ran += 1;
        if code != Some(0) {
            failures.push(format!(
                "`{}` exited {code:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
                c.line
            ));
        } else if let Err(e) = shows(&c.expect, &stdout) {
            failures.push(format!(
                "`{}`: the README shows output it does not print: {e}\nstdout:\n{stdout}",
                c.line
            ));
        }
    }
    // The check really ran through the loopback proxy, so no command reached another host.
    if egress.requests().is_empty() {
        failures.push("`probe check` never reached the loopback proxy".to_owned());
    }
    for (line, _) in NOT_RUN {
        if !cmds.iter().any(|c| c.line == *line) {
            failures.push(format!(
                "NOT_RUN lists `{line}`, which the README no longer has"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 6, "only {ran} README commands ran");
}

/// The README's configuration loads without errors, and its dependency lines name this
/// version and features that exist.
#[test]
fn readme_configuration_and_dependency_lines_are_valid() {
    let text = readme();
    let manifest: toml::Table = toml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .expect("Cargo.toml"),
    )
    .expect("Cargo.toml parses");
    let features = manifest["features"].as_table().expect("[features]");
    let version = env!("CARGO_PKG_VERSION");
    let mut configs = 0;
    let mut deps = 0;
    for b in blocks(&text).iter().filter(|b| b.lang == "toml") {
        let toml_text = b.lines.join("\n");
        let value: toml::Table = toml::from_str(&toml_text).expect("README toml parses");
        let dep_tables: Vec<&toml::Value> = ["dependencies", "dev-dependencies"]
            .iter()
            .filter_map(|t| value.get(*t)?.get("proxyscope"))
            .collect();
        if dep_tables.is_empty() {
            let errors: Vec<_> = ConfigDocument::from_toml_str(&toml_text, "proxyscope.toml")
                .lint(&EnvSnapshot::default())
                .into_iter()
                .filter(|d| d.is_error())
                .collect();
            assert!(errors.is_empty(), "README config:\n{toml_text}\n{errors:?}");
            configs += 1;
            continue;
        }
        for d in dep_tables {
            let req = d
                .as_str()
                .or_else(|| d.get("version")?.as_str())
                .expect("a version requirement");
            // "0.1" for 0.1.x: what `cargo add` would write for this version.
            let minor: Vec<&str> = version.split('.').take(2).collect();
            assert_eq!(req, minor.join("."), "README's version requirement");
            for f in d
                .get("features")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
            {
                let f = f.as_str().expect("feature name");
                assert!(features.contains_key(f), "README names feature {f}");
            }
            deps += 1;
        }
    }
    assert!(configs >= 1 && deps >= 2, "configs {configs}, deps {deps}");
    // Each feature the manifest declares for users is in the README's feature table.
    for f in features
        .keys()
        .filter(|f| *f != "default" && *f != "fuzzing")
    {
        assert!(
            text.contains(&format!("| `{f}` |")),
            "README's feature table lacks `{f}`"
        );
    }
}

#[test]
fn readme_commands_are_taken_apart_like_a_shell() {
    let r = example_run(
        "https_proxy=http://u:p@proxy.test:3128 no_proxy=.internal cargo run -q --example probe -- route https://a.example/",
    )
    .expect("an example run");
    assert_eq!(r.example, "probe");
    assert_eq!(r.args, ["route", "https://a.example/"]);
    assert_eq!(r.env["no_proxy"], ".internal");
    assert_eq!(example_run("scripts/test"), None);
    assert_eq!(example_run("cargo install cargo-fuzz"), None);
    assert_eq!(
        strip_comment("cargo run --example probe -- lint   # exit 0 clean"),
        "cargo run --example probe -- lint"
    );
    assert_eq!(words("a 'b c' \"d\""), ["a", "b c", "d"]);
    assert_eq!(
        normalise("via http://127.0.0.1:41859 at a.toml:1:1"),
        "via http://127.0.0.1:PORT at a.toml:1:1"
    );
    let expect = vec!["a".to_owned(), "...".to_owned(), "c".to_owned()];
    assert!(shows(&expect, "a\nb\nc\n").is_ok());
    assert!(shows(&expect, "c\na\n").is_err());
}
