//! Redaction is total: a password of any characters, placed where users put passwords — a proxy
//! URL (configuration, environment, builder), a URL-shaped `no_proxy` entry, a provider URL —
//! never appears in any printed form: the redactors' output, `ProxyUrl` and its errors, `NoProxy`
//! and its diagnostics, lint findings, `config.invalid` errors, route explanations, and what
//! `Secrets` leaves of a page that echoes the credentials.
//!
//! The password is the fuzzer's text with a canary (`Zq7Kx`) inserted at a position the fuzzer
//! picks, so any fragment of the password — before or after a `/`, `@`, `,`, blank or `%` — can
//! hold it; the canary appears nowhere else in the input (hosts are lowercased, so the check
//! ignores case), and nothing the crate prints contains it, so finding it in an output is a
//! leak.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use proxyscope::config::{Config, ConfigDocument};
use proxyscope::proxy::redact::{
    Secrets, parse_drops_at, redact_list, redact_parsed_url, redact_url,
};
use proxyscope::{EnvSnapshot, Error, NoProxy, ProxyUrl, Settings};

const CANARY: &str = "Zq7Kx";

const SCHEMES: [&str; 6] = ["", "http://", "https://", "socks5h://", "HTTP://", "ftp://"];

/// A TOML basic string holding `s`.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn error_forms(e: &Error, out: &mut Vec<String>) {
    out.push(e.to_string());
    out.push(format!("{e:?}"));
    out.push(e.report());
    out.push(serde_json::to_string(e).expect("an Error always serialises"));
    if let Some(r) = e.route() {
        out.push(r.explain());
        out.push(serde_json::to_string(r).expect("a Route always serialises"));
    }
}

fn list_forms(list: &NoProxy, out: &mut Vec<String>) {
    out.push(list.to_string());
    out.push(format!("{list:?}"));
    out.push(serde_json::to_string(list).expect("a NoProxy always serialises"));
    out.push(list.entries().join(" "));
    for d in list.diagnostics() {
        out.push(format!("{d} {d:?}"));
    }
}

fn config_forms(toml: &str, env: &EnvSnapshot, out: &mut Vec<String>) {
    for d in ConfigDocument::from_toml_str(toml, "fuzz.toml").lint(env) {
        out.push(d.to_string());
        out.push(serde_json::to_string(&d).expect("a Diagnostic always serialises"));
    }
    match Config::from_toml_str(toml, "fuzz.toml") {
        Ok(c) => {
            out.push(format!("{c:?}"));
            for p in std::iter::once(None).chain(c.providers().iter().map(|p| Some(p.name()))) {
                for s in c.settings_with_env(p, env).unwrap_or_default() {
                    out.push(format!("{} = {} ({})", s.key, s.value, s.origin));
                }
            }
            let url = url::Url::parse("https://x.test/").expect("a valid URL");
            let global = c.global_layer().clone();
            for p in c.providers() {
                match proxyscope::route::resolve(&global, Some((p.name(), p.layer())), env, &url) {
                    Ok(r) => out.push(format!("{} {}", r.explain(), serde_json::to_string(&r).unwrap_or_default())),
                    Err(e) => error_forms(&Error::from(e), out),
                }
            }
        }
        Err(e) => error_forms(&e, out),
    }
}

fuzz_target!(|data: &[u8]| {
    let [form, scheme, at, rest @ ..] = data else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.splitn(4, '\0');
    let raw_pass = parts.next().unwrap_or("");
    let canary = CANARY.to_ascii_lowercase();
    // The parts around the password lose the canary's letters, so that no concatenation of
    // them (host + tail, say) can spell it.
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !canary.contains(c.to_ascii_lowercase()))
            .collect()
    };
    let user = clean(parts.next().unwrap_or("u"));
    let host = clean(parts.next().unwrap_or("proxy.test"));
    let tail = clean(parts.next().unwrap_or(""));
    let (user, host, tail) = (user.as_str(), host.as_str(), tail.as_str());
    let cut = raw_pass
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(raw_pass.len()))
        .nth(usize::from(*at) % (raw_pass.chars().count() + 1))
        .unwrap_or(0);
    let pass = format!("{}{CANARY}{}", &raw_pass[..cut], &raw_pass[cut..]);
    let scheme = SCHEMES[usize::from(*scheme) % SCHEMES.len()];
    let url = format!("{scheme}{user}:{pass}@{host}{tail}");

    let mut out = Vec::new();
    match form % 6 {
        0 => {
            out.push(redact_url(&url));
            out.push(redact_url(&format!("{scheme}{user}:{pass}@{host}")));
            // A parse that dropped the `@` after the host leaves nothing that marks the text
            // before it as a password: `redact_parsed_url` cannot know it, and the crate refuses
            // such text wherever it reads a URL (`parse_drops_at`).
            let text = format!("http://{user}:{pass}@{host}/{tail}");
            if let Ok(u) = url::Url::parse(&text)
                && !parse_drops_at(&u, &text)
            {
                out.push(redact_parsed_url(&u));
            }
        }
        1 => match ProxyUrl::parse(&url) {
            Ok(u) => {
                out.push(format!("{u} {u:?} {}", serde_json::to_string(&u).unwrap_or_default()));
                out.extend(u.notes().iter().map(|n| format!("{n} {n:?}")));
            }
            Err(e) => {
                out.push(format!("{e} {e:?} {}", e.input()));
                error_forms(&Error::from(e), &mut out);
            }
        },
        2 => {
            let list = format!("{host},{url},localhost");
            out.push(redact_list(&list));
            list_forms(&NoProxy::parse(&list), &mut out);
            list_forms(&NoProxy::from_entries([host, url.as_str(), tail]), &mut out);
        }
        3 => {
            let toml = format!(
                "proxy = {}\nno_proxy = [{}, {}]\n[providers.a]\nurl = {}\nproxy = {}\n",
                toml_str(&url),
                toml_str(host),
                toml_str(&format!("{host},{url}")),
                toml_str(&format!("https://{user}:{pass}@{host}/{tail}")),
                toml_str(&format!("{user}:{pass}@{host}")),
            );
            config_forms(&toml, &EnvSnapshot::default(), &mut out);
        }
        4 => {
            let env = EnvSnapshot::from_pairs([
                ("https_proxy", url.clone()),
                ("HTTPS_PROXY", format!("{user}:{pass}@{host}")),
                ("no_proxy", format!("{host},{url},{tail}")),
            ]);
            out.push(format!("{env:?}"));
            config_forms("", &env, &mut out);
            let target = url::Url::parse("https://x.test/").expect("a valid URL");
            match proxyscope::route::resolve(&Settings::new(), None, &env, &target) {
                Ok(r) => out.push(format!("{} {}", r.explain(), serde_json::to_string(&r).unwrap_or_default())),
                Err(e) => error_forms(&Error::from(e), &mut out),
            }
        }
        _ => {
            // A peer's page echoing the credentials in every form it might.
            let mut secrets = Secrets::new();
            secrets.add_credentials(user, Some(&pass));
            let pair = format!("{user}:{pass}");
            let token = base64::engine::general_purpose::STANDARD.encode(&pair);
            let encoded: String = url::form_urlencoded::byte_serialize(pass.as_bytes()).collect();
            let page = format!(
                "{host}<pre>Proxy-Authorization: Basic {token}\n{pair}\n{pass}\n{encoded}\n{}</pre>{tail}",
                encoded.to_ascii_uppercase(),
            );
            let scrubbed = secrets.scrub(&page);
            assert!(!scrubbed.contains(&token), "token in {scrubbed:?}");
            out.push(scrubbed);
        }
    }
    for o in out {
        assert!(
            !o.to_ascii_lowercase().contains(&canary),
            "password fragment in {o:?}\nfrom {url:?}"
        );
    }
});
