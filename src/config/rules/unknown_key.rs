//! Unknown keys: a known misplacement from the table in `suggest` (with the polarity of
//! `strictSSL`-style switches explained, and `agentOptions.ca` from 2015), a typo of a key valid
//! at that level (edit distance), or a key that belongs at another level. Every unknown key is an
//! error: a setting that is silently ignored is how the 2015 `no_proxy` list stopped working.

use crate::config::node::{Entry, Value};
use crate::config::suggest;
use crate::config::walk::{GLOBAL_ONLY, LAYER_KEYS, Level, PROVIDER_ONLY, Walker, join};
use crate::diagnostic::Severity;

impl Walker<'_> {
    /// An unknown key: a known misplacement, a typo of a valid key, or neither.
    pub(crate) fn unknown(&mut self, prefix: &str, e: &Entry, valid: &[&str], level: Level) {
        let path = join(prefix, &e.key);
        let here = if prefix.is_empty() {
            "at the top level".to_owned()
        } else {
            format!("in [{prefix}]")
        };
        if matches!(
            e.key.as_str(),
            "agentOptions" | "agent_options" | "agentoptions"
        ) && let Value::Table(inner) = &e.node.value
            && !inner.is_empty()
        {
            for i in inner {
                let ipath = join(&path, &i.key);
                match (i.key.as_str(), suggest::misplacement(&i.key)) {
                    ("ca", _) | ("cacert", _) | ("ca_cert", _) => self.diag(Severity::Error, "misplaced_key", &ipath, i.key_pos, format!("`{}.{}` is the Node `request` library's agent option; in 2015 it was ignored on tunnelled (CONNECT) paths. proxyscope's `ca_file` applies to the origin hop, direct or tunnelled", e.key, i.key), Some(format!("move `{}.{}` to `ca_file` {here} (a PEM file path)", e.key, i.key))),
                    (_, Some(m)) => self.misplaced(&ipath, i, m, &here),
                    _ => self.diag(Severity::Error, "unknown_key", &ipath, i.key_pos, format!("unknown key `{}.{}`: proxyscope has no agent options", e.key, i.key), Some(format!("remove `{}`; the settings are {}", e.key, LAYER_KEYS.join(", ")))),
                }
            }
            return;
        }
        if let Some(m) = suggest::misplacement(&e.key)
            && (valid.contains(&m.key) || level == Level::Global && m.key == "providers")
        {
            self.misplaced(&path, e, m, &here);
            return;
        }
        if let Some(near) = suggest::did_you_mean(&e.key, valid) {
            self.diag(
                Severity::Error,
                "unknown_key",
                &path,
                e.key_pos,
                format!("unknown key `{}` {here}", e.key),
                Some(format!(
                    "did you mean `{near}`? rename `{}` to `{near}`",
                    e.key
                )),
            );
            return;
        }
        let fix = match level {
            Level::Global if PROVIDER_ONLY.contains(&e.key.as_str()) => format!(
                "`{}` belongs to a provider: move it into `[providers.NAME]`",
                e.key
            ),
            Level::Global if matches!(&e.node.value, Value::Table(t) if t.iter().any(|k| k.key == "url" || k.key == "api")) =>
            {
                format!("declare the provider as `[providers.{}]`", e.key)
            }
            Level::Provider if GLOBAL_ONLY.contains(&e.key.as_str()) => {
                format!("`{}` is only valid at the top level", e.key)
            }
            Level::Check if e.key == "expect_body" || e.key == "body" => {
                "use `body_contains = \"...\"`".to_owned()
            }
            _ => format!("remove `{}`; valid keys here: {}", e.key, valid.join(", ")),
        };
        self.diag(
            Severity::Error,
            "unknown_key",
            &path,
            e.key_pos,
            format!("unknown key `{}` {here}", e.key),
            Some(fix),
        );
    }

    fn misplaced(&mut self, path: &str, e: &Entry, m: &suggest::Misplacement, here: &str) {
        let key = &e.key;
        let fix = match (&e.node.value, m.key) {
            (Value::Bool(b), "danger_accept_invalid_certs") => {
                let danger = if m.inverted { !b } else { *b };
                if danger {
                    format!(
                        "replace `{key} = {b}` with `danger_accept_invalid_certs = true` {here} (better: add the server's CA to `ca_file`)"
                    )
                } else {
                    format!(
                        "remove `{key} = {b}`: certificates are verified by default (`danger_accept_invalid_certs = false`)"
                    )
                }
            }
            (Value::Str(s), "ca_file") if s.trim_start().starts_with("-----BEGIN") => {
                "save the PEM to a file and set `ca_file = \"/path/to/ca.pem\"`".to_owned()
            }
            (value, "limits") => {
                let v = match value {
                    Value::Str(s) => format!("{s:?}"),
                    Value::Int(n) => format!("\"{n}B\""),
                    _ => "\"16MiB\"".to_owned(),
                };
                format!(
                    "move it into `[limits]` as `max_body = {v}` (or `check_body` for probe checks)"
                )
            }
            (value, "timeouts") => {
                let v = match value {
                    Value::Str(s) => format!("{:?}", crate::proxy::redact_url(s)),
                    Value::Int(n) => format!("\"{n}s\""),
                    _ => "\"30s\"".to_owned(),
                };
                format!(
                    "move it into `[timeouts]` as `request = {v}` (or `connect`, `proxy`, `tls` for one phase)"
                )
            }
            _ => format!("rename `{key}` to `{}` {here}", m.key),
        };
        self.diag(
            Severity::Error,
            "misplaced_key",
            path,
            e.key_pos,
            format!("`{key}` is not a proxyscope key: {}", m.why),
            Some(fix),
        );
    }
}
