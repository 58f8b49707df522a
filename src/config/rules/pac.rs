//! The `pac` key and the list form of `proxy`: a PAC file's path (resolved against the
//! configuration's directory, read within the PAC size cap, and linted when the `pac` feature
//! is built: syntax errors with line:col, a missing `FindProxyForURL`, the classic mistakes),
//! and `proxy = ["http://a:3128", "direct"]`, each entry checked like a single `proxy`.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Severity};
use crate::settings::ProxySetting;

use super::proxy_url;

/// Lints the PAC file at `file`, reporting under `path`. Without the `pac` feature: one warning
/// that the setting will be refused.
pub(crate) fn lint(file: &Path, path: &str, location: Option<String>) -> Vec<Diagnostic> {
    #[cfg(feature = "pac")]
    {
        use crate::pac::{LintOptions, PacScript};
        match PacScript::from_file(file) {
            Ok(script) => {
                let options = LintOptions {
                    path: path.to_owned(),
                    resolver_configured: true,
                };
                crate::pac::lint(&script, &options)
            }
            Err(e) => {
                let mut d =
                    Diagnostic::new(Severity::Error, "pac.file", path, location, e.message());
                d.suggestion = e.hint().map(str::to_owned);
                vec![d]
            }
        }
    }
    #[cfg(not(feature = "pac"))]
    {
        let _ = file;
        let mut d = Diagnostic::new(
            Severity::Error,
            "pac.unavailable",
            path,
            location,
            "proxyscope was built without the `pac` feature: this PAC file cannot be used",
        );
        d.suggestion = Some("build with the `pac` feature, or set `proxy` instead".to_owned());
        vec![d]
    }
}

/// One entry of a `proxy` list, checked like a single `proxy`; `"env"` is refused (a list is
/// explicit).
pub(crate) fn list_entry(
    raw: &str,
    path: &str,
    location: Option<String>,
) -> (Option<ProxySetting>, Vec<Diagnostic>) {
    let (setting, mut diags) = proxy_url::check(raw, path, location.clone());
    if setting == Some(ProxySetting::Env) {
        let mut d = Diagnostic::new(
            Severity::Error,
            "proxy_url.keyword",
            path,
            location,
            "\"env\" cannot be an entry of a proxy list",
        );
        d.suggestion =
            Some("list proxy URLs and \"direct\", or write `proxy = \"env\"` alone".to_owned());
        diags.push(d);
        return (None, diags);
    }
    (setting, diags)
}
