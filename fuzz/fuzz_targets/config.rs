//! Config parsing and lint: any text as a TOML document (and as the `[proxyscope]` section of a
//! service's file) is read, linted against an environment that sets proxies, and validated;
//! nothing panics, a failure is `config.invalid` / `config.*` carrying error diagnostics, every
//! diagnostic prints and serialises, and a valid config answers every question about itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyscope::EnvSnapshot;
use proxyscope::config::{ConfigDocument, Severity};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = EnvSnapshot::from_pairs([
        ("https_proxy", "http://env-proxy.test:3128"),
        ("HTTP_PROXY", "http://ignored.test:1"),
        ("no_proxy", "localhost,.svc.test"),
    ]);
    for doc in [
        ConfigDocument::from_toml_str(text, "/fuzz/proxyscope.toml"),
        ConfigDocument::from_toml_section(text, "/fuzz/service.toml", "proxyscope"),
    ] {
        for d in doc.lint(&env) {
            assert!(!d.code.is_empty());
            let _ = d.to_string();
            let _ = serde_json::to_string(&d).expect("a diagnostic always serialises");
        }
        match doc.to_config() {
            Ok(cfg) => {
                let _ = format!("{cfg:?}");
                for d in cfg.lint(&env) {
                    let _ = d.to_string();
                }
                let _ = cfg.settings(None);
                let _ = cfg.settings_with_env(None, &env);
                for p in cfg.providers() {
                    let _ = cfg.effective_layer(p.name());
                    let _ = cfg.settings(Some(p.name()));
                    let _ = format!("{p:?}");
                }
            }
            Err(e) => {
                assert!(e.code().starts_with("config."), "{}", e.code());
                if e.code() == "config.invalid" {
                    assert!(
                        e.evidence()
                            .diagnostics
                            .iter()
                            .any(|d| d.severity == Severity::Error)
                    );
                }
                let _ = e.report();
                let _ = serde_json::to_string(&e).expect("an Error always serialises");
            }
        }
    }
});
