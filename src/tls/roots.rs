//! Trust stores: turns a hop's `roots` choice (`webpki`, `system`, `none`) plus its CA files into a
//! rustls `RootCertStore`, and describes the result as a [`TrustStore`] (each source with its
//! anchor count) for the evidence of a failed handshake.

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

use super::bundle::CaBundle;
use crate::error::{TrustSource, TrustSourceKind, TrustStore};
use crate::settings::Roots;

/// Loads the operating system's roots (files that cannot be read, or are refused by the bounds,
/// are skipped by design: the OS store is best effort, and its anchor count is in the
/// evidence). See [`super::system`].
pub(crate) fn load_system_roots() -> Vec<CertificateDer<'static>> {
    super::system::load()
}

/// Builds the store for `roots` + `ca_files`. `system` overrides what `roots = "system"` loads.
pub(crate) fn build_store(
    roots: Roots,
    ca_files: &[CaBundle],
    system: Option<&[CertificateDer<'static>]>,
) -> (RootCertStore, TrustStore) {
    let mut store = RootCertStore::empty();
    let mut sources = Vec::new();
    match roots {
        Roots::Webpki => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            sources.push(TrustSource {
                kind: TrustSourceKind::Webpki,
                path: None,
                anchors: webpki_roots::TLS_SERVER_ROOTS.len(),
                rejected: 0,
            });
        }
        Roots::System => {
            let loaded;
            let certs = match system {
                Some(c) => c,
                None => {
                    loaded = load_system_roots();
                    &loaded
                }
            };
            let (anchors, rejected) = store.add_parsable_certificates(certs.iter().cloned());
            sources.push(TrustSource {
                kind: TrustSourceKind::System,
                path: None,
                anchors,
                rejected,
            });
        }
        Roots::None => {}
    }
    for b in ca_files {
        let (anchors, rejected) = store.add_parsable_certificates(b.certs().iter().cloned());
        sources.push(TrustSource {
            kind: if b.is_in_memory() {
                TrustSourceKind::Builder
            } else {
                TrustSourceKind::CaFile
            },
            path: Some(b.path().display().to_string()),
            anchors,
            rejected,
        });
    }
    (store, TrustStore { roots, sources })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webpki_store_counts_its_anchors_and_none_is_empty() {
        let (store, ts) = build_store(Roots::Webpki, &[], None);
        assert_eq!(store.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        assert_eq!(ts.anchors(), store.len());
        assert_eq!(ts.sources[0].kind, TrustSourceKind::Webpki);
        let (store, ts) = build_store(Roots::None, &[], None);
        assert!(store.is_empty());
        assert!(ts.sources.is_empty());
    }

    #[test]
    fn system_override_is_used_and_bad_certs_are_counted() {
        let junk = CertificateDer::from(vec![1u8, 2, 3]);
        let (store, ts) = build_store(Roots::System, &[], Some(&[junk]));
        assert!(store.is_empty());
        assert_eq!(ts.sources[0].kind, TrustSourceKind::System);
        assert_eq!(ts.sources[0].rejected, 1);
    }
}
