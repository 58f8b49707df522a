//! TLS: CA bundles, the hop's handshake and evidence, diagnosis of certificate failures, and the
//! client against the public test PKI.

mod support;
mod tls_bundle;
mod tls_client_cert;
mod tls_diagnosis;
mod tls_hop;
mod tls_interception;
mod tls_testpki;
