//! The schema: the walk that turns the positioned value tree into layers, providers and checks
//! (which keys exist at which level is in `walk`). Every problem becomes a [`Diagnostic`] and the walk
//! goes on, so one load reports everything that is wrong, not the first thing.

use std::path::PathBuf;

use super::ca;
use super::check;
use super::node::{Entry, Node, Pos, Value};
use super::provenance::Source;
use super::rules::{names, no_proxy, origin_url, pac, proxy_url};
use super::suggest;
use super::walk::{
    GLOBAL_ONLY, LAYER_KEYS, LIMIT_KEYS, Level, PROVIDER_ONLY, TIMEOUT_KEYS, Walker, join, last_key,
};
use super::{Config, Provider};
use crate::diagnostic::{Diagnostic, Severity};
use crate::settings::{Roots, Settings, Sourced};

/// Builds a best-effort [`Config`] from `root`; the findings include every error.
pub(crate) fn build(root: &Node, src: &Source) -> (Config, Vec<Diagnostic>) {
    let mut w = Walker::new(src);
    let mut global = Settings::new();
    let mut providers = Vec::new();
    match &root.value {
        Value::Table(entries) => {
            // First, so that every value printed below already masks these parameters.
            if let Some(e) = entries.iter().find(|e| e.key == "secret_query_params") {
                w.secret_query_params(e);
            }
            for e in entries {
                if LAYER_KEYS.contains(&e.key.as_str()) {
                    w.layer_key(&mut global, "", e);
                } else if e.key == "secret_query_params" {
                    // Read above.
                } else if e.key == "providers" {
                    w.providers(e, &mut providers);
                } else {
                    w.unknown("", e, &[LAYER_KEYS, GLOBAL_ONLY].concat(), Level::Global);
                }
            }
        }
        other => {
            let d = w.type_error("", root.pos, "a table of settings", other);
            w.diags.push(d);
        }
    }
    w.roots_without_ca("", &global, None);
    w.identity_checks("", &global, None);
    for p in &providers {
        let eff = p.layer.over(&global);
        let prefix = format!("providers.{}", p.name);
        w.roots_without_ca(&prefix, &eff, Some(&p.layer));
        w.identity_checks(&prefix, &eff, Some(&p.layer));
    }
    let ca_files = w.ca_files.into_values().filter_map(|(f, _)| f).collect();
    let config = Config {
        source: src.path.clone(),
        section: src.section.clone(),
        global,
        providers,
        ca_files,
        diagnostics: Vec::new(),
    };
    (config, w.diags)
}

impl Walker<'_> {
    /// One key of a layer at `prefix` (`""` or `providers.NAME`).
    pub(crate) fn layer_key(&mut self, layer: &mut Settings, prefix: &str, e: &Entry) {
        let path = join(prefix, &e.key);
        let origin = self.src.origin(&path, e.key_pos);
        let node = &e.node;
        match e.key.as_str() {
            "proxy" => {
                if let Value::Bool(false) = node.value {
                    self.diag(
                        Severity::Error,
                        "proxy_url.keyword",
                        &path,
                        node.pos,
                        "`proxy = false` is not a setting; the keyword for no proxy is \"direct\"",
                        Some("write `proxy = \"direct\"`".into()),
                    );
                    return;
                }
                if let Value::Array(items) = &node.value {
                    self.proxy_list(layer, &path, node, items, origin);
                    return;
                }
                let Some(raw) = self.string(&path, node, "write a URL, \"direct\" or \"env\"")
                else {
                    return;
                };
                let (setting, diags) = proxy_url::check(raw, &path, self.src.location(node.pos));
                self.diags.extend(diags);
                if let Some(s) = setting {
                    layer.proxy = Some(Sourced::new(s, origin));
                }
            }
            "no_proxy" => {
                let entries = match &node.value {
                    Value::Array(items) => {
                        let mut out = Vec::new();
                        for (i, item) in items.iter().enumerate() {
                            let ipath = format!("{path}[{i}]");
                            if let Some(s) = self.string(
                                &ipath,
                                item,
                                "write each entry as a quoted host name, e.g. \".example.org\"",
                            ) {
                                out.push(no_proxy::EntryRef {
                                    text: s.to_owned(),
                                    path: ipath,
                                    location: self.src.location(item.pos),
                                });
                            }
                        }
                        out
                    }
                    // One value, read as curl reads NO_PROXY (a password in a URL-shaped entry
                    // may hold commas; its credentials are masked across them).
                    Value::Str(s) if s.split(',').all(|x| x.trim().is_empty()) => Vec::new(),
                    Value::Str(s) => vec![no_proxy::EntryRef {
                        text: s.clone(),
                        path: path.clone(),
                        location: self.src.location(node.pos),
                    }],
                    other => {
                        let d = self
                            .type_error(&path, node.pos, "a list of host names", other)
                            .with_suggestion(
                                "write `no_proxy = [\"localhost\", \".example.org\"]`",
                            );
                        self.diags.push(d);
                        return;
                    }
                };
                let (list, diags) = no_proxy::check(&entries, &path, self.src.location(node.pos));
                self.diags.extend(diags);
                layer.no_proxy = Some(Sourced::new(list, origin));
            }
            "roots" => {
                let Some(raw) =
                    self.string(&path, node, "write \"webpki\", \"system\" or \"none\"")
                else {
                    return;
                };
                match raw.trim().parse::<Roots>() {
                    Ok(r) => layer.roots = Some(Sourced::new(r, origin)),
                    Err(_) => {
                        let near = suggest::did_you_mean(raw, &["webpki", "system", "none"]);
                        let fix = match near {
                            Some(n) => format!("write `roots = \"{n}\"`"),
                            None => "write \"webpki\" (bundled Mozilla roots), \"system\" or \"none\" (ca_file only)".to_owned(),
                        };
                        self.diag(
                            Severity::Error,
                            "invalid_value",
                            &path,
                            node.pos,
                            format!("`{}` is not a root store", crate::proxy::redact_url(raw)),
                            Some(fix),
                        );
                    }
                }
            }
            "ca_file" | "proxy_ca_file" => {
                if let Some(files) = self.ca_list(&path, node) {
                    let s = Some(Sourced::new(files, origin));
                    if e.key == "ca_file" {
                        layer.ca_file = s;
                    } else {
                        layer.proxy_ca_file = s;
                    }
                }
            }
            "pac" => {
                let Some(raw) = self.string(&path, node, "write the PAC file's path as a string")
                else {
                    return;
                };
                let file = self.src.resolve(raw.trim());
                let location = self.src.location(node.pos);
                self.diags.extend(pac::lint(&file, &path, location));
                layer.pac = Some(Sourced::new(file, origin));
            }
            "danger_accept_invalid_certs" => {
                if let Some(b) = self.boolean(&path, node) {
                    if b {
                        self.diag(Severity::Warning, "danger_accept_invalid_certs", &path, node.pos, "certificate verification is off: any server, including an intercepting one, is accepted", Some("remove `danger_accept_invalid_certs` and add the server's CA to `ca_file`".into()));
                    }
                    layer.danger_accept_invalid_certs = Some(Sourced::new(b, origin));
                }
            }
            "timeouts" => self.timeouts(layer, &path, node),
            "limits" => self.limits(layer, &path, node),
            _ => {
                self.identity_key(layer, prefix, e);
            }
        }
    }

    /// `proxy = [..]`: each entry checked like a single `proxy`; the first becomes `proxy`.
    fn proxy_list(
        &mut self,
        layer: &mut Settings,
        path: &str,
        node: &Node,
        items: &[Node],
        origin: crate::settings::Provenance,
    ) {
        let mut list = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let Some(raw) = self.string(
                &ipath,
                item,
                "write each entry as a proxy URL or \"direct\"",
            ) else {
                continue;
            };
            let (setting, diags) = pac::list_entry(raw, &ipath, self.src.location(item.pos));
            self.diags.extend(diags);
            list.extend(setting);
        }
        if items.is_empty() {
            self.diag(
                Severity::Error,
                "invalid_value",
                path,
                node.pos,
                "an empty proxy list names no route",
                Some("write `proxy = [\"http://proxy-a:3128\", \"direct\"]`, or `proxy = \"direct\"`".into()),
            );
        }
        if list.len() != items.len() {
            return;
        }
        if let Some(first) = list.first().cloned() {
            layer.proxy = Some(Sourced::new(first, origin.clone()));
            layer.proxy_list = (list.len() > 1).then(|| Sourced::new(list, origin));
        }
    }

    /// `ca_file`: a path or a list of paths, each read and parsed now.
    fn ca_list(&mut self, path: &str, node: &Node) -> Option<Vec<PathBuf>> {
        let items: Vec<(String, &Node)> = match &node.value {
            Value::Str(_) => vec![(path.to_owned(), node)],
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("{path}[{i}]"), n))
                .collect(),
            other => {
                let d = self
                    .type_error(path, node.pos, "a path or a list of paths", other)
                    .with_suggestion(format!(
                        "write `{} = \"/etc/ssl/internal-root.pem\"`",
                        last_key(path)
                    ));
                self.diags.push(d);
                return None;
            }
        };
        let mut files = Vec::new();
        for (ipath, n) in items {
            let Some(raw) = self.string(&ipath, n, "write the PEM file's path as a string") else {
                continue;
            };
            if raw.trim_start().starts_with("-----BEGIN") {
                self.diag(
                    Severity::Error,
                    "ca_file.not_a_path",
                    &ipath,
                    n.pos,
                    "this is PEM content, not a file path",
                    Some(format!(
                        "save the PEM to a file and set `{} = \"/path/to/ca.pem\"`",
                        last_key(path)
                    )),
                );
                continue;
            }
            let resolved = self.src.resolve(raw.trim());
            let location = self.src.location(n.pos);
            let (_, problems) = self
                .ca_files
                .entry(resolved.clone())
                .or_insert_with(|| ca::load(&resolved));
            for p in problems.clone() {
                self.diags.push(p.into_diagnostic(&ipath, location.clone()));
            }
            files.push(resolved);
        }
        Some(files)
    }

    fn timeouts(&mut self, layer: &mut Settings, path: &str, node: &Node) {
        let Value::Table(entries) = &node.value else {
            let d = self
                .type_error(path, node.pos, "a table", &node.value)
                .with_suggestion(
                    "write `[timeouts]` with `connect`, `proxy`, `tls`, `request` = \"5s\"",
                );
            self.diags.push(d);
            return;
        };
        for e in entries {
            let kpath = join(path, &e.key);
            let slot = match e.key.as_str() {
                "connect" => &mut layer.timeouts.connect,
                "proxy" => &mut layer.timeouts.proxy,
                "tls" => &mut layer.timeouts.tls,
                "request" => &mut layer.timeouts.request,
                _ => {
                    self.unknown(path, e, TIMEOUT_KEYS, Level::Timeouts);
                    continue;
                }
            };
            let origin = self.src.origin(&kpath, e.key_pos);
            if let Some(d) = self.duration(&kpath, &e.node) {
                *slot = Some(Sourced::new(d, origin));
            }
        }
    }

    fn limits(&mut self, layer: &mut Settings, path: &str, node: &Node) {
        let Value::Table(entries) = &node.value else {
            let d = self
                .type_error(path, node.pos, "a table", &node.value)
                .with_suggestion("write `[limits]` with `max_body = \"16MiB\"`");
            self.diags.push(d);
            return;
        };
        for e in entries {
            let kpath = join(path, &e.key);
            let slot = match e.key.as_str() {
                "max_body" => &mut layer.limits.max_body,
                "check_body" => &mut layer.limits.check_body,
                _ => {
                    self.unknown(path, e, LIMIT_KEYS, Level::Limits);
                    continue;
                }
            };
            let origin = self.src.origin(&kpath, e.key_pos);
            if let Some(n) = self.size(&kpath, &e.node) {
                *slot = Some(Sourced::new(n, origin));
            }
        }
    }

    fn providers(&mut self, e: &Entry, out: &mut Vec<Provider>) {
        let Value::Table(entries) = &e.node.value else {
            let d = self
                .type_error(
                    "providers",
                    e.node.pos,
                    "a table of providers",
                    &e.node.value,
                )
                .with_suggestion("declare each provider as `[providers.NAME]` with a `url`");
            self.diags.push(d);
            return;
        };
        for p in entries {
            let prefix = format!("providers.{}", p.key);
            let Value::Table(keys) = &p.node.value else {
                let d = self.type_error(
                    &prefix,
                    p.key_pos,
                    "a table `[providers.NAME]`",
                    &p.node.value,
                );
                let d = d.with_suggestion(if LAYER_KEYS.contains(&p.key.as_str()) {
                    format!(
                        "`{}` is a global setting: move it above the first `[providers...]` table (top level)",
                        p.key
                    )
                } else {
                    format!("write `[providers.{}]` with `url = \"https://...\"`", p.key)
                });
                self.diags.push(d);
                continue;
            };
            if let Some(d) = names::check("provider", &p.key, &prefix, self.src.location(p.key_pos))
            {
                self.diags.push(d);
            }
            if let Some(provider) = self.provider(&p.key, &prefix, p.key_pos, keys) {
                out.push(provider);
            }
        }
    }

    fn provider(
        &mut self,
        name: &str,
        prefix: &str,
        pos: Option<Pos>,
        keys: &[Entry],
    ) -> Option<Provider> {
        let mut layer = Settings::new();
        let mut url = None;
        let mut required = Sourced::new(true, crate::settings::Provenance::Default);
        let mut checks = Vec::new();
        for e in keys {
            let path = join(prefix, &e.key);
            match e.key.as_str() {
                k if LAYER_KEYS.contains(&k) => self.layer_key(&mut layer, prefix, e),
                "url" => url = self.provider_url(&path, e),
                "required" => {
                    if let Some(b) = self.boolean(&path, &e.node) {
                        required = Sourced::new(b, self.src.origin(&path, e.key_pos));
                    }
                }
                "checks" => checks = check::parse_all(self, &path, &e.node),
                "auth" => {
                    self.identity_key(&mut layer, prefix, e);
                }
                _ => self.unknown(
                    prefix,
                    e,
                    &[LAYER_KEYS, PROVIDER_ONLY].concat(),
                    Level::Provider,
                ),
            }
        }
        if url.is_none() && !keys.iter().any(|e| e.key == "url") {
            let fix = match keys.iter().find(|e| e.key == "api") {
                Some(_) => format!("rename `api` to `url` in [{prefix}]"),
                None => format!("add `url = \"https://...\"` to [{prefix}]"),
            };
            self.diag(
                Severity::Error,
                "provider.url_missing",
                prefix,
                pos,
                format!("provider `{name}` has no `url`"),
                Some(fix),
            );
        }
        let url = url?;
        Some(Provider {
            name: name.to_owned(),
            origin: self.src.origin(prefix, pos),
            url,
            layer,
            checks,
            required,
        })
    }

    fn provider_url(&mut self, path: &str, e: &Entry) -> Option<Sourced<url::Url>> {
        let raw = self.string(path, &e.node, "write `url = \"https://api.example.org\"`")?;
        let origin = self.src.origin(path, e.key_pos);
        let parsed = url::Url::parse(raw.trim());
        let found = origin_url::check(
            raw,
            parsed.as_ref().ok(),
            path,
            self.src.location(e.node.pos),
        );
        self.diags.extend(found);
        match parsed {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Some(Sourced::new(u, origin))
            }
            Ok(u) => {
                self.diag(
                    Severity::Error,
                    "provider.url_invalid",
                    path,
                    e.node.pos,
                    format!(
                        "`{}` is not an http:// or https:// URL with a host",
                        crate::proxy::redact_url(raw)
                    ),
                    Some(format!(
                        "write `https://{}`",
                        // With an `@` in the value, the parsed host may be part of the
                        // credentials.
                        u.host_str()
                            .filter(|_| !raw.contains('@'))
                            .unwrap_or("api.example.org")
                    )),
                );
                None
            }
            Err(err) => {
                let fix = if !raw.contains("://") {
                    format!("write `https://{}`", crate::proxy::redact_url(raw.trim()))
                } else {
                    "write `url = \"https://api.example.org\"`".to_owned()
                };
                self.diag(
                    Severity::Error,
                    "provider.url_invalid",
                    path,
                    e.node.pos,
                    format!("`{}` is not a URL: {err}", crate::proxy::redact_url(raw)),
                    Some(fix),
                );
                None
            }
        }
    }

    /// `secret_query_params = ["name", ...]`: more query parameters whose values are masked in
    /// every output. Names are added for the whole process as the document is read (lint
    /// included), and never removed.
    fn secret_query_params(&mut self, e: &Entry) {
        let fix = "write `secret_query_params = [\"session_ref\"]`";
        let Value::Array(items) = &e.node.value else {
            let d = self
                .type_error(
                    &e.key,
                    e.node.pos,
                    "a list of parameter names",
                    &e.node.value,
                )
                .with_suggestion(fix);
            self.diags.push(d);
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", e.key);
            if let Some(name) = self.string(&path, item, fix) {
                crate::proxy::redact::add_secret_query_param(name);
            }
        }
    }

    /// `roots = "none"` with no `ca_file` trusts nothing.
    fn roots_without_ca(&mut self, prefix: &str, eff: &Settings, own: Option<&Settings>) {
        let Some(roots) = &eff.roots else { return };
        if roots.value != Roots::None {
            return;
        }
        let has_ca = eff.ca_file.as_ref().is_some_and(|f| !f.value.is_empty());
        let own_relevant = own.is_none_or(|l| l.roots.is_some() || l.ca_file.is_some());
        if has_ca || !own_relevant {
            return;
        }
        let d = Diagnostic::new(
            Severity::Error,
            "roots.none_without_ca",
            join(prefix, "roots"),
            super::provenance::origin_location(&roots.origin),
            "`roots = \"none\"` with no `ca_file` trusts no server at all",
        )
        .with_suggestion("add `ca_file = \"/path/to/ca.pem\"`, or use `roots = \"webpki\"`");
        self.diags.push(d);
    }
}
