//! [`TestPki`]: a throw-away certificate authority for tests. It makes a root CA, an intermediate
//! CA, an unrelated interception CA and a "rotated" root (same subject as the root, new key), issues
//! leaves for DNS names and IP addresses — valid or deliberately broken — and writes every
//! certificate, key, bundle and the malformed files that error paths need into a temporary
//! directory that lives as long as the `TestPki`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::HarnessError;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Subject common name of [`TestPki::root`] (and of [`TestPki::rotated_root`]).
pub const ROOT_CN: &str = "proxyscope test root CA";
/// Subject common name of [`TestPki::intermediate`].
pub const INTERMEDIATE_CN: &str = "proxyscope test intermediate CA";
/// Subject common name of [`TestPki::interception_ca`], the CA a TLS-intercepting proxy signs with.
pub const INTERCEPTION_CN: &str = "proxyscope test interception CA";
/// Organization of the interception CA, shaped like a corporate proxy's.
pub const INTERCEPTION_ORG: &str = "Example Corp Egress Proxy";
/// Subject common name of [`TestPki::client_ca`], the CA that issues client certificates.
pub const CLIENT_CA_CN: &str = "proxyscope test client CA";

/// Which CA signs a leaf made by [`TestPki::leaf`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// The intermediate CA (the normal case: leaf → intermediate → root).
    Intermediate,
    /// The root CA directly.
    Root,
    /// The interception CA, unrelated to the root.
    Interception,
    /// Nobody: the leaf signs itself.
    SelfSigned,
    /// The client CA ([`TestPki::client_ca`]), unrelated to the server root.
    ClientCa,
}

/// The validity window of a leaf made by [`TestPki::leaf`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From a day ago until 90 days from now.
    Current,
    /// From 60 days ago until a day ago.
    Expired,
    /// From 30 days from now until 90 days from now.
    NotYetValid,
    /// Exactly this window (e.g. a certificate that expires in 3 days, for expiry warnings).
    Window {
        /// Start of validity.
        not_before: SystemTime,
        /// End of validity.
        not_after: SystemTime,
    },
}

/// What to put in a leaf certificate. Build with [`LeafSpec::new`] and the setters.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    names: Vec<String>,
    signer: Signer,
    validity: Validity,
    client: bool,
    /// Set by `LeafSpec::issued_by`: a CA that signs instead of the [`Signer`].
    pub(super) issuer: Option<Arc<Ca>>,
}

impl LeafSpec {
    /// A leaf for `names` (DNS names or IP literals, all put in the SAN), signed by the
    /// intermediate and currently valid.
    pub fn new(names: &[&str]) -> Self {
        LeafSpec {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            signer: Signer::Intermediate,
            validity: Validity::Current,
            client: false,
            issuer: None,
        }
    }

    /// A client certificate for `names` (the first is the subject's CN; extended key usage
    /// `clientAuth`), signed by the client CA and currently valid.
    pub fn client(names: &[&str]) -> Self {
        LeafSpec {
            signer: Signer::ClientCa,
            client: true,
            ..LeafSpec::new(names)
        }
    }

    /// Sets who signs the leaf.
    pub fn signer(mut self, signer: Signer) -> Self {
        self.signer = signer;
        self
    }

    /// Sets the validity window.
    pub fn validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }
}

/// Which certificates a server built by [`TestPki::server_config`] presents.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChainMode {
    /// The leaf and its intermediates (what a correctly configured server sends).
    #[default]
    Full,
    /// The leaf alone, without its intermediate (the classic "missing intermediate" mistake).
    LeafOnly,
    /// The leaf, its intermediates and the root as well.
    WithRoot,
}

/// One certificate with its private key, as PEM, DER and files on disk. Cheap to clone.
///
/// `Debug` shows the label and paths, never the key.
#[derive(Clone)]
pub struct TestCert {
    inner: Arc<CertInner>,
}

struct CertInner {
    label: String,
    der: CertificateDer<'static>,
    pem: String,
    key_pkcs8: Vec<u8>,
    pem_path: PathBuf,
    key_path: PathBuf,
    chain_path: PathBuf,
    intermediates: Vec<CertificateDer<'static>>,
    anchor: Option<CertificateDer<'static>>,
}

impl fmt::Debug for TestCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCert")
            .field("label", &self.inner.label)
            .field("pem_path", &self.inner.pem_path)
            .finish_non_exhaustive()
    }
}

impl TestCert {
    /// A short label naming what this certificate is (also the stem of its file names).
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// The certificate, DER-encoded.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.inner.der
    }

    /// The certificate, PEM-encoded.
    pub fn pem(&self) -> &str {
        &self.inner.pem
    }

    /// The private key (PKCS#8).
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.inner.key_pkcs8.clone()))
    }

    /// Path of a file holding this certificate alone, as PEM.
    pub fn pem_path(&self) -> &Path {
        &self.inner.pem_path
    }

    /// Path of a file holding the private key as PEM.
    pub fn key_path(&self) -> &Path {
        &self.inner.key_path
    }

    /// Path of a PEM file with this certificate followed by its intermediates (a server's
    /// `fullchain.pem`).
    pub fn chain_pem_path(&self) -> &Path {
        &self.inner.chain_path
    }

    /// The CA certificates between this one and its root (empty when signed by a root).
    pub fn intermediates(&self) -> &[CertificateDer<'static>] {
        &self.inner.intermediates
    }

    /// The root this certificate chains to (`None` when self-signed).
    pub fn anchor(&self) -> Option<&CertificateDer<'static>> {
        self.inner.anchor.as_ref()
    }

    /// The certificates a server presents for this leaf in `mode`.
    pub fn presented_chain(&self, mode: ChainMode) -> Vec<CertificateDer<'static>> {
        let mut chain = vec![self.inner.der.clone()];
        if mode != ChainMode::LeafOnly {
            chain.extend(self.inner.intermediates.iter().cloned());
        }
        if mode == ChainMode::WithRoot
            && let Some(anchor) = &self.inner.anchor
            && anchor.as_ref() != self.inner.der.as_ref()
        {
            chain.push(anchor.clone());
        }
        chain
    }
}

/// A certificate authority: its signing key and its certificate.
pub(crate) struct Ca {
    pub(super) issuer: Issuer<'static, KeyPair>,
    pub(super) cert: TestCert,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("cert", &self.cert.label())
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// The CA's own certificate.
    pub(crate) fn certificate(&self) -> &CertificateDer<'static> {
        self.cert.der()
    }

    /// What a certificate this CA signs presents above itself: the CA (unless it is its own
    /// trust anchor) and the CA's intermediates.
    pub(super) fn chain_above(&self) -> Vec<CertificateDer<'static>> {
        let mut chain = Vec::new();
        if self.cert.anchor().map(|a| a.as_ref()) != Some(self.cert.der().as_ref()) {
            chain.push(self.cert.der().clone());
        }
        chain.extend(self.cert.inner.intermediates.iter().cloned());
        chain
    }

    /// Issues a currently valid server leaf for `names`, without writing files; used by the
    /// intercepting proxy for each host it is asked to reach.
    pub(crate) fn issue_in_memory(
        &self,
        names: &[&str],
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), HarnessError> {
        let key = KeyPair::generate()?;
        let params = leaf_params(names, Validity::Current, false)?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let mut chain = vec![cert.der().clone()];
        chain.extend(self.chain_above());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((chain, key))
    }
}

/// A throw-away PKI for tests: a root CA, an intermediate CA, an unrelated interception CA and a
/// rotated root (same subject as the root, new key); leaves for DNS names and IP addresses, valid
/// or deliberately broken ([`TestPki::expired`], [`TestPki::not_yet_valid`],
/// [`TestPki::wrong_host`], [`TestPki::self_signed`], [`ChainMode::LeafOnly`] for a missing
/// intermediate); PEM files, bundles and the malformed files CA-loading error paths need.
///
/// The directory and every file in it are removed when the `TestPki` is dropped.
pub struct TestPki {
    pub(super) dir: tempfile::TempDir,
    pub(super) counter: AtomicUsize,
    root: Arc<Ca>,
    intermediate: Arc<Ca>,
    interception: Arc<Ca>,
    client_ca: Arc<Ca>,
    rotated_root: TestCert,
    localhost: TestCert,
    bundle_path: PathBuf,
    empty_path: PathBuf,
    garbage_path: PathBuf,
    truncated_path: PathBuf,
    der_in_pem_path: PathBuf,
    leaf_as_ca_path: PathBuf,
}

impl fmt::Debug for TestPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPki")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// Creates the CAs, a leaf for `localhost`/`127.0.0.1`/`::1` and the bad files.
    ///
    /// # Panics
    /// If the temporary directory cannot be written or key generation fails; use
    /// [`TestPki::try_new`] to handle that.
    pub fn new() -> TestPki {
        match TestPki::try_new() {
            Ok(pki) => pki,
            Err(err) => panic!("TestPki::new: {err}"),
        }
    }

    /// Like [`TestPki::new`], returning the error instead of panicking.
    pub fn try_new() -> Result<TestPki, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix("proxyscope-pki-")
            .tempdir()?;
        let root = make_ca(dir.path(), "root", &ca_params(ROOT_CN, None, None), None)?;
        let rotated = make_ca(
            dir.path(),
            "rotated-root",
            &ca_params(ROOT_CN, None, None),
            None,
        )?;
        let intermediate = make_ca(
            dir.path(),
            "intermediate",
            &ca_params(INTERMEDIATE_CN, None, Some(0)),
            Some(&root),
        )?;
        let interception = make_ca(
            dir.path(),
            "interception-ca",
            &ca_params(INTERCEPTION_CN, Some(INTERCEPTION_ORG), None),
            None,
        )?;
        let client_ca = make_ca(
            dir.path(),
            "client-ca",
            &ca_params(CLIENT_CA_CN, None, None),
            None,
        )?;
        let bundle_path = dir.path().join("bundle-root-intermediate.pem");
        std::fs::write(
            &bundle_path,
            format!("{}{}", root.cert.pem(), intermediate.cert.pem()),
        )?;
        let mut pki = TestPki {
            empty_path: dir.path().join("empty.pem"),
            garbage_path: dir.path().join("garbage.pem"),
            truncated_path: dir.path().join("truncated.pem"),
            der_in_pem_path: dir.path().join("der-in.pem"),
            leaf_as_ca_path: dir.path().join("leaf-as-ca.pem"),
            bundle_path,
            counter: AtomicUsize::new(0),
            rotated_root: rotated.cert,
            localhost: root.cert.clone(),
            root: Arc::new(root),
            intermediate: Arc::new(intermediate),
            interception: Arc::new(interception),
            client_ca: Arc::new(client_ca),
            dir,
        };
        pki.localhost = pki.try_leaf(LeafSpec::new(&["localhost", "127.0.0.1", "::1"]))?;
        std::fs::write(&pki.empty_path, b"")?;
        std::fs::write(
            &pki.garbage_path,
            b"this is not a certificate\n\x00\x01\x02 -----BEGIN NOTHING-----\n",
        )?;
        // The root's PEM cut halfway through its base64, as an interrupted copy leaves it.
        let pem = pki.root.cert.pem();
        let lines: Vec<&str> = pem.lines().collect();
        std::fs::write(
            &pki.truncated_path,
            format!("{}\n", lines[..lines.len() / 2].join("\n")),
        )?;
        std::fs::write(&pki.der_in_pem_path, pki.root.cert.der().as_ref())?;
        std::fs::write(&pki.leaf_as_ca_path, pki.localhost.pem())?;
        Ok(pki)
    }

    /// The directory holding every file this PKI wrote.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The root CA.
    pub fn root(&self) -> &TestCert {
        &self.root.cert
    }

    /// The intermediate CA (signed by the root).
    pub fn intermediate(&self) -> &TestCert {
        &self.intermediate.cert
    }

    /// The interception CA: self-signed and unrelated to the root, like a corporate proxy's.
    pub fn interception_ca(&self) -> &TestCert {
        &self.interception.cert
    }

    /// The client CA: self-signed and unrelated to the server root; issues the certificates of
    /// [`TestPki::client_cert`].
    pub fn client_ca(&self) -> &TestCert {
        &self.client_ca.cert
    }

    /// A currently valid client certificate for `name` (its CN and SAN), issued by the client
    /// CA, with extended key usage `clientAuth`; its key is at [`TestCert::key_path`].
    pub fn client_cert(&self, name: &str) -> TestCert {
        self.leaf(LeafSpec::client(&[name]))
    }

    /// A root with the same subject as [`TestPki::root`] but a different key (a CA that was
    /// rotated): trusting it instead of the real root must fail even though the names match.
    pub fn rotated_root(&self) -> &TestCert {
        &self.rotated_root
    }

    /// A leaf for `localhost`, `127.0.0.1` and `::1`, signed by the intermediate (made once).
    pub fn localhost(&self) -> &TestCert {
        &self.localhost
    }

    pub(crate) fn interception_authority(&self) -> Arc<Ca> {
        Arc::clone(&self.interception)
    }

    /// Path of the root CA's PEM file.
    pub fn root_pem_path(&self) -> &Path {
        self.root.cert.pem_path()
    }

    /// Path of the intermediate CA's PEM file.
    pub fn intermediate_pem_path(&self) -> &Path {
        self.intermediate.cert.pem_path()
    }

    /// Path of the interception CA's PEM file.
    pub fn interception_ca_path(&self) -> &Path {
        self.interception.cert.pem_path()
    }

    /// Path of a bundle with the root and the intermediate.
    pub fn bundle_path(&self) -> &Path {
        &self.bundle_path
    }

    /// Writes a new bundle with `certs` concatenated in order and returns its path.
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn bundle(&self, certs: &[&TestCert]) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.path().join(format!("bundle-{n}.pem"));
        let pem: String = certs.iter().map(|c| c.pem()).collect();
        if let Err(err) = std::fs::write(&path, pem) {
            panic!("TestPki::bundle: writing {}: {err}", path.display());
        }
        path
    }

    /// An empty file named `.pem`.
    pub fn empty_file(&self) -> &Path {
        &self.empty_path
    }

    /// A `.pem` file with text and binary junk, no PEM block.
    pub fn garbage_file(&self) -> &Path {
        &self.garbage_path
    }

    /// The root's PEM file cut halfway through its base64 (no END line): an interrupted copy.
    pub fn truncated_file(&self) -> &Path {
        &self.truncated_path
    }

    /// A `.pem` file whose content is a raw DER certificate (the root's).
    pub fn der_in_pem_file(&self) -> &Path {
        &self.der_in_pem_path
    }

    /// A PEM file holding a leaf (not a CA) for use where a CA file is expected.
    pub fn leaf_as_ca_file(&self) -> &Path {
        &self.leaf_as_ca_path
    }

    /// Issues a leaf as described by `spec` and writes its files.
    ///
    /// # Panics
    /// If a name is not a valid DNS name or IP address, or the files cannot be written; use
    /// [`TestPki::try_leaf`] to handle that.
    pub fn leaf(&self, spec: LeafSpec) -> TestCert {
        match self.try_leaf(spec) {
            Ok(cert) => cert,
            Err(err) => panic!("TestPki::leaf: {err}"),
        }
    }

    /// Like [`TestPki::leaf`], returning the error instead of panicking.
    pub fn try_leaf(&self, spec: LeafSpec) -> Result<TestCert, HarnessError> {
        let names: Vec<&str> = spec.names.iter().map(String::as_str).collect();
        let params = leaf_params(&names, spec.validity, spec.client)?;
        let key = KeyPair::generate()?;
        let (cert, intermediates, anchor) = match (&spec.issuer, spec.signer) {
            (Some(ca), _) => (
                params.signed_by(&key, &ca.issuer)?,
                ca.chain_above(),
                ca.cert.anchor().cloned(),
            ),
            (None, signer) => match signer {
                Signer::SelfSigned => (params.self_signed(&key)?, Vec::new(), None),
                Signer::Root => (
                    params.signed_by(&key, &self.root.issuer)?,
                    Vec::new(),
                    Some(self.root.cert.der().clone()),
                ),
                Signer::Intermediate => (
                    params.signed_by(&key, &self.intermediate.issuer)?,
                    std::iter::once(self.intermediate.cert.der().clone())
                        .chain(self.intermediate.cert.intermediates().iter().cloned())
                        .collect(),
                    Some(self.root.cert.der().clone()),
                ),
                Signer::Interception => (
                    params.signed_by(&key, &self.interception.issuer)?,
                    Vec::new(),
                    Some(self.interception.cert.der().clone()),
                ),
                Signer::ClientCa => (
                    params.signed_by(&key, &self.client_ca.issuer)?,
                    Vec::new(),
                    Some(self.client_ca.cert.der().clone()),
                ),
            },
        };
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let first = names.first().copied().unwrap_or("leaf");
        let label = format!("leaf-{n}-{}", sanitize(first));
        write_cert(
            self.dir.path(),
            &label,
            cert.der().clone(),
            &key,
            intermediates,
            anchor,
        )
    }

    /// A valid leaf for `names`, signed by the intermediate.
    pub fn leaf_for(&self, names: &[&str]) -> TestCert {
        self.leaf(LeafSpec::new(names))
    }

    /// A leaf for `names` whose validity ended a day ago.
    pub fn expired(&self, names: &[&str]) -> TestCert {
        self.leaf(LeafSpec::new(names).validity(Validity::Expired))
    }

    /// A leaf for `names` that becomes valid in 30 days.
    pub fn not_yet_valid(&self, names: &[&str]) -> TestCert {
        self.leaf(LeafSpec::new(names).validity(Validity::NotYetValid))
    }

    /// A valid leaf for `names` that expires `remaining` from now (issued a day ago), e.g. to
    /// test "certificate expires within 14 days" warnings.
    pub fn expiring_in(&self, names: &[&str], remaining: Duration) -> TestCert {
        let now = SystemTime::now();
        self.leaf(LeafSpec::new(names).validity(Validity::Window {
            not_before: now - DAY,
            not_after: now + remaining,
        }))
    }

    /// A valid leaf, properly chained, but only for `wrong.example` and `10.255.255.1`: serve it
    /// on 127.0.0.1/localhost to get a hostname mismatch.
    pub fn wrong_host(&self) -> TestCert {
        self.leaf(LeafSpec::new(&["wrong.example", "10.255.255.1"]))
    }

    /// A self-signed leaf for `names`.
    pub fn self_signed(&self, names: &[&str]) -> TestCert {
        self.leaf(LeafSpec::new(names).signer(Signer::SelfSigned))
    }

    /// A TLS server configuration presenting `leaf` as `mode` says, with ALPN `h2` and
    /// `http/1.1` (ring provider, TLS 1.2 and 1.3).
    ///
    /// # Panics
    /// If rustls rejects the certificate or key (it does not for certificates made here).
    pub fn server_config(&self, leaf: &TestCert, mode: ChainMode) -> Arc<ServerConfig> {
        match server_config(leaf.presented_chain(mode), leaf.key_der()) {
            Ok(config) => config,
            Err(err) => panic!("TestPki::server_config: {err}"),
        }
    }

    /// A TLS client configuration (ring provider) that trusts exactly `roots` and offers no ALPN;
    /// set `alpn_protocols` on the result if needed.
    ///
    /// # Panics
    /// If one of `roots` is not a usable trust anchor.
    pub fn client_config(&self, roots: &[&TestCert]) -> ClientConfig {
        let mut store = RootCertStore::empty();
        for root in roots {
            if let Err(err) = store.add(root.der().clone()) {
                panic!(
                    "TestPki::client_config: {} is not a trust anchor: {err}",
                    root.label()
                );
            }
        }
        match ClientConfig::builder_with_provider(
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .with_safe_default_protocol_versions()
        {
            Ok(builder) => builder.with_root_certificates(store).with_no_client_auth(),
            Err(err) => panic!("TestPki::client_config: {err}"),
        }
    }
}

impl Default for TestPki {
    fn default() -> Self {
        TestPki::new()
    }
}

/// Builds a server config for `chain` and `key` with ALPN h2 and http/1.1.
pub(crate) fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, HarnessError> {
    server_config_alpn(chain, key, &[b"h2", b"http/1.1"])
}

/// Builds a server config for `chain` and `key` offering `alpn`.
pub(crate) fn server_config_alpn(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>, HarnessError> {
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

pub(super) fn ca_params(cn: &str, org: Option<&str>, path_len: Option<u8>) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, org.unwrap_or("proxyscope tests"));
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.use_authority_key_identifier_extension = true;
    let now = SystemTime::now();
    params.not_before = (now - DAY).into();
    params.not_after = (now + 3650 * DAY).into();
    params
}

fn leaf_params(
    names: &[&str],
    validity: Validity,
    client: bool,
) -> Result<CertificateParams, HarnessError> {
    let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(owned)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    params.use_authority_key_identifier_extension = true;
    let (from, until) = window(validity);
    params.not_before = from.into();
    params.not_after = until.into();
    Ok(params)
}

/// The `(not_before, not_after)` a [`Validity`] stands for, counted from now.
pub(super) fn window(validity: Validity) -> (SystemTime, SystemTime) {
    let now = SystemTime::now();
    match validity {
        Validity::Current => (now - DAY, now + 90 * DAY),
        Validity::Expired => (now - 60 * DAY, now - DAY),
        Validity::NotYetValid => (now + 30 * DAY, now + 90 * DAY),
        Validity::Window {
            not_before,
            not_after,
        } => (not_before, not_after),
    }
}

pub(super) fn make_ca(
    dir: &Path,
    label: &str,
    params: &CertificateParams,
    parent: Option<&Ca>,
) -> Result<Ca, HarnessError> {
    let key = KeyPair::generate()?;
    let (cert, intermediates, anchor) = match parent {
        None => {
            let cert = params.self_signed(&key)?;
            let der = cert.der().clone();
            (cert, Vec::new(), Some(der))
        }
        Some(parent) => {
            let cert = params.signed_by(&key, &parent.issuer)?;
            let above = parent.chain_above();
            (cert, above, parent.cert.anchor().cloned())
        }
    };
    let tc = write_cert(dir, label, cert.der().clone(), &key, intermediates, anchor)?;
    Ok(Ca {
        issuer: Issuer::new(params.clone(), key),
        cert: tc,
    })
}

fn write_cert(
    dir: &Path,
    label: &str,
    der: CertificateDer<'static>,
    key: &KeyPair,
    intermediates: Vec<CertificateDer<'static>>,
    anchor: Option<CertificateDer<'static>>,
) -> Result<TestCert, HarnessError> {
    let pem = pem_encode(&der);
    let pem_path = dir.join(format!("{label}.pem"));
    let key_path = dir.join(format!("{label}.key.pem"));
    let chain_path = dir.join(format!("{label}.chain.pem"));
    std::fs::write(&pem_path, &pem)?;
    write_secret(&key_path, key.serialize_pem().as_bytes())?;
    let chain_pem: String = std::iter::once(pem.clone())
        .chain(intermediates.iter().map(pem_encode))
        .collect();
    std::fs::write(&chain_path, chain_pem)?;
    Ok(TestCert {
        inner: Arc::new(CertInner {
            label: label.to_owned(),
            der,
            pem,
            key_pkcs8: key.serialize_der(),
            pem_path,
            key_path,
            chain_path,
            intermediates,
            anchor,
        }),
    })
}

fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, bytes)
    }
}

fn pem_encode(der: &CertificateDer<'_>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
