//! proxyscope: outbound HTTP(S) through forward proxies that explains itself.
//!
//! A [`Client`] resolves, for every request, whether it goes direct or through which proxy —
//! global or per-provider settings, `no_proxy` lists and the environment, all by curl's rules —
//! and remembers why ([`Route`]). When a request fails, the [`Error`] carries a stable
//! [`code`](Error::code) (`proxy.forbidden`, `tls.unknown_issuer`, …), the failing [`Hop`] and
//! [`Phase`], the evidence (the proxy's status and `X-Squid-Error`, the presented certificate
//! chain, the addresses tried) and a hint that names the fix.
//!
//! # Quick start
//!
//! ```no_run
//! use proxyscope::{Client, Config, EnvSnapshot};
//!
//! # async fn run() -> Result<(), proxyscope::Error> {
//! let config = Config::from_toml_str(
//!     r#"
//!     proxy = "http://egress.example.org:3128"
//!     no_proxy = [".svc.example.org"]
//!
//!     [providers.apertium]
//!     url = "http://apertium.svc.example.org:2737"
//!     proxy = "direct"
//!     "#,
//!     "inline.toml",
//! )?;
//! // Routing is pure: ask before sending anything.
//! let client = Client::builder_from_config(&config).env(EnvSnapshot::from_process()).build()?;
//! let route = client.route(Some("apertium"), "http://apertium.svc.example.org:2737/listPairs")?;
//! println!("{}", route.explain());
//!
//! match client.get("http://apertium.svc.example.org:2737/listPairs").send().await {
//!     Ok(resp) => println!("{} via {}", resp.status(), resp.route().summary()),
//!     Err(e) => eprintln!("{}", e.report()), // code, hop, phase, evidence, hint
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The same decisions are available from the command line through the `probe` example
//! (`probe route`, `probe lint`, `probe config --show-origin`, `probe check`, `probe serve`,
//! `probe demo`), and the `testing` feature adds the harness (module `testing`) that proxyscope's
//! own tests use: a local PKI, a TLS origin and a policy-driven forward proxy.
//!
//! # Features
//!
//! - `testing` (off by default): the `testing` module — `TestPki`,
//!   `TestOrigin` and `TestProxy` — for unit-testing proxy and CA configuration on loopback.
//!   It adds items only and never changes how the client behaves.
//! - `pac` (off by default): the `pac` module — proxy auto-config: `FindProxyForURL` evaluated
//!   in an embedded, sandboxed QuickJS with time, memory and stack limits, answers parsed into
//!   candidates, PAC files linted, and the client follows a `pac` setting (or `PROXYSCOPE_PAC`),
//!   trying the answer's candidates in order; without the feature such a setting is refused
//!   (`config.invalid`), never ignored. Nothing else changes; it needs a C compiler.
//! - `decompression` (off by default): `ClientBuilder::{gzip, brotli, zstd}` — ask for
//!   compressed response bodies and decode them (async-compression). Without the switches
//!   nothing is asked for or decoded.
//! - `fuzzing` (off by default, not public API): exposes the internal wire parsers to the
//!   project's fuzz targets and property tests; hidden from the documentation.
//! - `reqwest` (off by default): the reqwest bridge — `Client::reqwest_proxy`, a
//!   `reqwest::Proxy` that routes like proxyscope (credentials included), and
//!   `Client::diagnose_reqwest`, which explains a reqwest failure with proxyscope's connection
//!   path. It adds items only; see `docs/reqwest.md` for the incremental path.
//!
//! # Module graph
//!
//! Modules are layered; each imports only modules listed above it, so there are no import loops
//! and the pure decisions at the bottom never depend on I/O. Inside a module, its submodules do
//! not import each other in a loop either. A test at the bottom of this file reads `src/` and
//! fails when an import breaks either rule.
//!
//! Where a lower layer needs something only a higher one can do, the lower layer defines a trait
//! over plain data and the higher one implements it and hands it down: `route` defines
//! [`AutoConfig`](route::AutoConfig) (the candidates a PAC file answers for a URL), `pac`
//! implements it, and `connect` gives it to the [`Router`](route::Router) it builds. So routing
//! stays pure and below `error`, and a route's failure is data the connector turns into an
//! [`Error`].
//!
//! | module | owns | imports |
//! |---|---|---|
//! | `hop` (private) | [`Hop`] and [`Phase`]: where and when in a request | nothing |
//! | `diagnostic` (private) | [`Severity`](config::Severity), [`Diagnostic`](config::Diagnostic), the per-file cap | nothing |
//! | `file` (private) | reading the files a configuration names: regular files only, within a size cap | nothing |
//! | `parse_error` (private) | [`ParseError`], the `FromStr` error of keyword types | nothing |
//! | [`proxy`] | proxy URLs, `no_proxy`, the environment snapshot, other tools' rules, redaction | `diagnostic`, `parse_error` |
//! | [`credentials`] | secrets kept outside URLs: their sources, resolution, proxy and origin credentials | `proxy` |
//! | [`settings`] | [`Settings`] layers, timeouts, roots, TLS identity and credentials, [`Provenance`] | `credentials`, `proxy`, `hop`, `parse_error` |
//! | [`route`] | pure route resolution and its explanation; the candidates of proxy lists and PAC answers as data, and the [`AutoConfig`](route::AutoConfig) trait a PAC evaluator implements | `settings`, `proxy` |
//! | [`error`] | [`Error`], codes, evidence (timings, TLS facts, attribution, diagnostics), the gateway status | everything above |
//! | `wire` (private) | pure parsers of what peers send: CONNECT/SOCKS5/SOCKS4 replies, proxy signatures, attribution | `error` |
//! | `pac` (feature) | proxy auto-config: sandboxed `FindProxyForURL`, its answer, the PAC lint, the router's PAC evaluator (`pac::auto_config`) | `error`, `route`, `settings`, `proxy`, `file` |
//! | [`tls`] | per-hop TLS, the recording verifier, chain facts, diagnosis | `error`, `settings`, `proxy`, `file` |
//! | [`connect`] | the connector: DNS, TCP, proxy handshakes, TLS (I/O); failover across candidates and its back-off | `wire`, `tls`, `pac`, `error`, `route`, `settings`, `proxy` |
//! | [`config`] | documents with positions, schema, lint, provenance, sections of a service's own file, the effective view | `tls`, `pac`, `error`, `route`, `settings`, `proxy`, `diagnostic`, `parse_error`, `file` |
//! | [`client`] | [`Client`], builders, responses, redirects | `config`, `connect`, `wire`, `error`, `route`, `settings`, `proxy` |
//! | [`probe`] | checks, runner, renderers, the Prometheus exporter | everything above |
//! | `testing` (feature) | the harness: PKI, origins, proxies | nothing from the crate |

// docs.rs builds with nightly rustdoc and `--cfg docsrs` (Cargo.toml's docs.rs metadata), where
// `doc_cfg` labels feature-gated items "Available on crate feature … only". Every public item
// behind a feature (`testing` now; any later one the same way) carries both attributes:
//   #[cfg(feature = "NAME")]
//   #[cfg_attr(docsrs, doc(cfg(feature = "NAME")))]
// (Since nightly 1.92 `doc_cfg` also infers labels from `#[cfg]` and `doc_auto_cfg` no longer
// exists; the explicit attribute keeps the label independent of that inference.)
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod config;
pub mod connect;
pub mod credentials;
mod diagnostic;
pub mod error;
mod file;
mod hop;
#[cfg(feature = "pac")]
#[cfg_attr(docsrs, doc(cfg(feature = "pac")))]
pub mod pac;
mod parse_error;
pub mod probe;
pub mod proxy;
pub mod route;
pub mod settings;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod tls;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod wire;
#[cfg(not(feature = "fuzzing"))]
mod wire;

// The crates whose types appear in proxyscope's public signatures, so a user names exactly the
// versions proxyscope was built with (`proxyscope::http::Request`, `proxyscope::rustls::ClientConfig`,
// `proxyscope::url::Url`, `proxyscope::bytes::Bytes` of `Response::bytes`).
pub use bytes;
pub use http;
pub use rustls;
pub use url;

pub use client::{Client, ClientBuilder, Response};
pub use config::Config;
pub use error::{Blame, Error, ErrorKind, Evidence, Hop, Phase, Result};
pub use parse_error::ParseError;
pub use proxy::{EnvSnapshot, NoProxy, ProxyUrl};
pub use route::Route;
pub use settings::{Limits, Provenance, ProxySetting, Roots, Settings, Sourced, Timeouts};

// The README's Rust snippets compile as doctests (its shell commands are run by
// tests/probe/readme.rs). Only `cargo test --doc` sees this item.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The module graph of the crate doc, checked against the source: every `crate::` path in a
/// module's files must name a module of a lower rank (or a root re-export of one).
#[cfg(test)]
mod module_graph {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    /// Top-level modules from the bottom up; a module may import only modules of a lower rank.
    /// Modules on one line are independent of each other.
    const LAYERS: &[&[&str]] = &[
        &["hop", "diagnostic", "file", "parse_error", "testing"],
        &["proxy"],
        &["credentials"],
        &["settings"],
        &["route"],
        &["error"],
        &["wire", "tls", "pac"],
        &["connect", "config"],
        &["client"],
        &["probe"],
    ];

    fn rank(module: &str) -> Option<usize> {
        LAYERS.iter().position(|l| l.contains(&module))
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap_or_else(|e| panic!("{e}")).path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The code of a Rust file with comments removed and string and char literals blanked, so
    /// that only real paths remain (doc links and URLs in strings are not imports).
    fn code_only(src: &str) -> String {
        let b: Vec<char> = src.chars().collect();
        let mut out = String::with_capacity(src.len());
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let next = b.get(i + 1).copied();
            if c == '/' && next == Some('/') {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            } else if c == '/' && next == Some('*') {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            } else if c == 'r'
                && matches!(next, Some('"') | Some('#'))
                && !b[..i]
                    .last()
                    .is_some_and(|p| p.is_alphanumeric() || *p == '_')
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&'"') {
                    out.push(c);
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    if j >= b.len() {
                        break;
                    }
                    if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
            } else if c == '"' {
                i += 1;
                while i < b.len() && b[i] != '"' {
                    if b[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            } else if c == '\'' {
                // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
                if next == Some('\\') {
                    i += 2;
                    while i < b.len() && b[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    out.push(c);
                    i += 1;
                }
            } else {
                out.push(c);
                i += 1;
            }
        }
        out
    }

    fn ident(s: &str) -> &str {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        &s[..end]
    }

    /// The first segment of every path in a `{...}` group (nested groups skipped).
    fn group_heads(s: &str) -> Vec<String> {
        let mut heads = Vec::new();
        let mut depth = 0;
        let mut at_start = true;
        for (i, c) in s.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => at_start = true,
                c if at_start && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                    heads.push(ident(&s[i..]).to_owned());
                    at_start = false;
                }
                _ => {}
            }
        }
        heads
    }

    /// Every name that follows `prefix` in `code`: `prefix::name` and `prefix::{a, b}`.
    fn paths_after(code: &str, prefix: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (i, _) in code.match_indices(prefix) {
            if code[..i]
                .chars()
                .last()
                .is_some_and(|p| p.is_alphanumeric() || p == '_' || p == ':')
            {
                continue;
            }
            let rest = &code[i + prefix.len()..];
            match rest.strip_prefix('{') {
                Some(group) => found.extend(group_heads(group)),
                None => found.push(ident(rest).to_owned()),
            }
        }
        found
    }

    /// Root re-exports (`pub use error::{Error, ...}` in lib.rs): name -> module.
    fn root_reexports(lib: &str) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        for stmt in lib.split(';') {
            let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
                continue;
            };
            let module = ident(rest).to_owned();
            let tail = &rest[module.len()..];
            let names = match tail.strip_prefix("::{") {
                Some(group) => group_heads(group),
                None => vec![ident(tail.trim_start_matches(':')).to_owned()],
            };
            for n in names {
                map.insert(n, module.clone());
            }
        }
        map
    }

    fn has_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
        fn visit(
            n: &str,
            edges: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<String> {
            if let Some(at) = path.iter().position(|p| p == n) {
                return Some(format!("{} -> {n}", path[at..].join(" -> ")));
            }
            if done.contains(n) {
                return None;
            }
            path.push(n.to_owned());
            for m in edges.get(n).into_iter().flatten() {
                if let Some(c) = visit(m, edges, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(n.to_owned());
            None
        }
        let mut done = BTreeSet::new();
        edges
            .keys()
            .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
    }

    #[test]
    fn modules_import_only_lower_layers_and_submodules_do_not_loop() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = code_only(&std::fs::read_to_string(src.join("lib.rs")).unwrap_or_default());
        let reexports = root_reexports(&lib);
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut wrong = Vec::new();
        let mut sub_edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for file in &files {
            let rel = file.strip_prefix(&src).unwrap_or(file);
            let parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            let top = parts[0].as_str();
            if top == "lib" {
                continue;
            }
            let Some(own) = rank(top) else {
                wrong.push(format!("module `{top}` is missing from LAYERS"));
                continue;
            };
            let code = code_only(&std::fs::read_to_string(file).unwrap_or_default());
            for name in paths_after(&code, "crate::") {
                let target = reexports.get(&name).map_or(name.as_str(), String::as_str);
                if target == top || target == "self" {
                    continue;
                }
                match rank(target) {
                    Some(r) if r < own => {}
                    Some(_) => wrong.push(format!(
                        "{}: `{top}` imports `{target}`, which is not below it",
                        rel.display()
                    )),
                    None => wrong.push(format!(
                        "{}: `crate::{name}` is not a module in LAYERS",
                        rel.display()
                    )),
                }
            }
            // Submodule edges: `super::x` from a direct child, `crate::top::x` from anywhere.
            // (`src/top/mod.rs` is the parent itself, not one of the submodules.)
            if parts.len() >= 2 && parts[1..] != ["mod"] {
                let child = parts[1].clone();
                let direct = parts.len() == 2 || (parts.len() == 3 && parts[2] == "mod");
                let mut targets = paths_after(&code, &format!("crate::{top}::"));
                if direct {
                    targets.extend(paths_after(&code, "super::"));
                }
                let edges = sub_edges.entry(top.to_owned()).or_default();
                for t in targets {
                    let is_child = src.join(top).join(format!("{t}.rs")).is_file()
                        || src.join(top).join(&t).is_dir();
                    if is_child && t != child {
                        edges.entry(child.clone()).or_default().insert(t);
                    }
                }
            }
        }
        for (top, edges) in &sub_edges {
            if let Some(cycle) = has_cycle(edges) {
                wrong.push(format!("submodules of `{top}` import each other: {cycle}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "module graph broken:\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn the_checker_sees_paths_and_ignores_comments_and_strings() {
        let code = code_only(
            "use crate::{error::Error, route};\n// crate::probe\nlet s = \"crate::client\";\n\
             let c = '\"'; fn f<'a>(x: &'a str) -> crate::tls::X {}\nlet r = r#\"crate::config\"#;",
        );
        assert_eq!(paths_after(&code, "crate::"), ["error", "route", "tls"]);
        let lib = "pub use error::{Error, Hop};\npub use route::Route;";
        let map = root_reexports(lib);
        assert_eq!(map.get("Hop").map(String::as_str), Some("error"));
        assert_eq!(map.get("Route").map(String::as_str), Some("route"));
        let mut loops = BTreeMap::new();
        loops.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
        loops.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
        assert!(has_cycle(&loops).is_some());
        loops.remove("b");
        assert!(has_cycle(&loops).is_none());
    }
}
