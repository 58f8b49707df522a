//! [`TestCa`]: certificate authorities a [`TestPki`] makes on demand besides its fixed ones — a
//! root or an intermediate with a chosen subject and validity — for tests whose evidence names the
//! issuer (a corporate inspection CA, a private issuing CA), needs two roots that share a subject,
//! or an intermediate that has expired. Leaves they sign come from [`LeafSpec::issued_by`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::HarnessError;
use super::pki::{Ca, LeafSpec, TestCert, TestPki, Validity, ca_params, make_ca, window};

/// A certificate authority made by [`TestPki::make_root`] or [`TestPki::make_intermediate`].
/// Cheap to clone; `Debug` shows its certificate's label, never the key.
#[derive(Clone)]
pub struct TestCa {
    pub(super) inner: Arc<Ca>,
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa")
            .field("cert", &self.inner.cert.label())
            .finish_non_exhaustive()
    }
}

impl TestCa {
    /// The CA's own certificate (its PEM file is what a test trusts for a root).
    pub fn cert(&self) -> &TestCert {
        &self.inner.cert
    }
}

impl LeafSpec {
    /// Has `ca` (made by [`TestPki::make_root`] or [`TestPki::make_intermediate`]) sign the
    /// leaf instead of the [`Signer`](super::Signer); the leaf's chain is then `ca` and its
    /// intermediates.
    pub fn issued_by(mut self, ca: &TestCa) -> Self {
        self.issuer = Some(Arc::clone(&ca.inner));
        self
    }
}

impl TestPki {
    /// A new self-signed root CA whose subject is `cn` (organization `proxyscope tests`),
    /// unrelated to every other CA: two calls with the same `cn` make two roots that share a
    /// subject but not a key, as a rotated root does.
    ///
    /// # Panics
    /// If key generation or writing its files fails; use [`TestPki::try_make_root`] to handle
    /// that.
    pub fn make_root(&self, cn: &str) -> TestCa {
        match self.try_make_root(cn) {
            Ok(ca) => ca,
            Err(err) => panic!("TestPki::make_root: {err}"),
        }
    }

    /// Like [`TestPki::make_root`], returning the error instead of panicking.
    pub fn try_make_root(&self, cn: &str) -> Result<TestCa, HarnessError> {
        self.try_make_ca(cn, None, Validity::Current)
    }

    /// A new intermediate CA whose subject is `cn`, signed by `parent` and valid as `validity`
    /// says ([`Validity::Current`]: from a day ago for ten years). Leaves it signs present it
    /// (and `parent`'s own intermediates) above themselves.
    ///
    /// # Panics
    /// As [`TestPki::make_root`]; use [`TestPki::try_make_intermediate`] to handle that.
    pub fn make_intermediate(&self, parent: &TestCa, cn: &str, validity: Validity) -> TestCa {
        match self.try_make_intermediate(parent, cn, validity) {
            Ok(ca) => ca,
            Err(err) => panic!("TestPki::make_intermediate: {err}"),
        }
    }

    /// Like [`TestPki::make_intermediate`], returning the error instead of panicking.
    pub fn try_make_intermediate(
        &self,
        parent: &TestCa,
        cn: &str,
        validity: Validity,
    ) -> Result<TestCa, HarnessError> {
        self.try_make_ca(cn, Some(parent), validity)
    }

    fn try_make_ca(
        &self,
        cn: &str,
        parent: Option<&TestCa>,
        validity: Validity,
    ) -> Result<TestCa, HarnessError> {
        let mut params = ca_params(cn, None, None);
        if validity != Validity::Current {
            let (from, until) = window(validity);
            params.not_before = from.into();
            params.not_after = until.into();
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let kind = if parent.is_some() {
            "intermediate"
        } else {
            "root"
        };
        let label = format!("ca-{n}-{kind}");
        let ca = make_ca(
            self.dir.path(),
            &label,
            &params,
            parent.map(|p| p.inner.as_ref()),
        )?;
        Ok(TestCa {
            inner: Arc::new(ca),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::{CertificateError, RootCertStore};
    use rustls_pki_types::{ServerName, UnixTime};

    use super::*;

    /// Verifies `leaf` for `name` against exactly `roots`, as a client would.
    fn verify(leaf: &TestCert, roots: &[&TestCert], name: &str) -> Result<(), rustls::Error> {
        let mut store = RootCertStore::empty();
        for root in roots {
            store.add(root.der().clone()).unwrap();
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(
            Arc::new(store),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        verifier
            .verify_server_cert(
                leaf.der(),
                leaf.intermediates(),
                &ServerName::try_from(name.to_owned()).unwrap(),
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
    }

    fn subject_cn(cert: &TestCert) -> String {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.der()).unwrap();
        let cn = parsed.subject().iter_common_name().next().unwrap();
        cn.as_str().unwrap().to_owned()
    }

    fn issuer_cn(cert: &TestCert) -> String {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.der()).unwrap();
        let cn = parsed.issuer().iter_common_name().next().unwrap();
        cn.as_str().unwrap().to_owned()
    }

    #[test]
    fn a_made_root_has_its_subject_and_signs_leaves_that_verify_only_against_it() {
        let pki = TestPki::new();
        let corp = pki.make_root("Corp SSL Inspection CA");
        assert_eq!(subject_cn(corp.cert()), "Corp SSL Inspection CA");
        let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&corp));
        assert_eq!(issuer_cn(&leaf), "Corp SSL Inspection CA");
        assert!(leaf.intermediates().is_empty(), "a root is not presented");
        assert_eq!(leaf.anchor(), Some(corp.cert().der()));
        verify(&leaf, &[corp.cert()], "origin.test").unwrap();
        assert_eq!(
            verify(&leaf, &[pki.root()], "origin.test"),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        );
    }

    #[test]
    fn two_roots_with_one_subject_do_not_trust_each_others_leaves() {
        let pki = TestPki::new();
        let old = pki.make_root("Internal Root");
        let new = pki.make_root("Internal Root");
        assert_eq!(subject_cn(old.cert()), subject_cn(new.cert()));
        let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&new));
        verify(&leaf, &[new.cert()], "origin.test").unwrap();
        assert!(verify(&leaf, &[old.cert()], "origin.test").is_err());
    }

    #[test]
    fn an_intermediate_is_presented_and_its_validity_is_the_one_asked_for() {
        let pki = TestPki::new();
        let root = pki.make_root("Chain Root");
        let inter = pki.make_intermediate(&root, "Chain Issuing CA", Validity::Current);
        let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&inter));
        assert_eq!(
            leaf.intermediates(),
            std::slice::from_ref(inter.cert().der())
        );
        assert_eq!(leaf.anchor(), Some(root.cert().der()));
        verify(&leaf, &[root.cert()], "origin.test").unwrap();

        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let lapsed = pki.make_intermediate(
            &root,
            "Lapsed Issuing CA",
            Validity::Window {
                not_before: now - 900 * day,
                not_after: now - 30 * day,
            },
        );
        let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&lapsed));
        assert!(matches!(
            verify(&leaf, &[root.cert()], "origin.test"),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            ))
        ));
    }

    #[test]
    fn a_nested_intermediate_presents_both_intermediates() {
        let pki = TestPki::new();
        let root = pki.make_root("Nest Root");
        let upper = pki.make_intermediate(&root, "Nest Upper CA", Validity::Current);
        let lower = pki.make_intermediate(&upper, "Nest Lower CA", Validity::Current);
        let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&lower));
        assert_eq!(
            leaf.intermediates(),
            &[lower.cert().der().clone(), upper.cert().der().clone()]
        );
        verify(&leaf, &[root.cert()], "origin.test").unwrap();
    }
}
