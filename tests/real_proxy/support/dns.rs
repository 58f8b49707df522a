//! A loopback nameserver for Squid that answers NXDOMAIN to everything, so names that must not
//! resolve fail at once and no query ever reaches a real resolver.

use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Answers every DNS query on `<ip>:53` with NXDOMAIN, until dropped.
pub(crate) struct DnsResponder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsResponder {
    /// `None` when port 53 cannot be bound there (not root); Squid's queries then time out.
    pub(crate) fn start(ip: Ipv4Addr) -> Option<DnsResponder> {
        let socket = UdpSocket::bind((ip, 53)).ok()?;
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = nxdomain_reply(&buf[..n]) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Some(DnsResponder {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for DnsResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The NXDOMAIN answer to a one-question DNS query: same id and question, QR, RD copied, RA,
/// RCODE 3, no records. `None` for anything that is not such a query.
fn nxdomain_reply(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    // The question: labels up to the root label, then QTYPE and QCLASS.
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        if len == 0 {
            at += 1;
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        at += 1 + len;
    }
    let end = at + 4;
    if end > query.len() {
        return None;
    }
    let mut reply = Vec::with_capacity(end);
    reply.extend_from_slice(&query[..2]);
    reply.push(0x80 | (query[2] & 0x01));
    reply.push(0x80 | 0x03);
    reply.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    reply.extend_from_slice(&query[12..end]);
    Some(reply)
}

/// A loopback address no one else uses, for one Squid's nameserver.
pub(crate) fn random_dns_address() -> Ipv4Addr {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let bits = hasher.finish();
    let a = (bits % 254) as u8 + 1;
    let b = ((bits >> 8) % 254) as u8 + 1;
    Ipv4Addr::new(127, 53, a, b)
}

/// Unit tests, registered in `main.rs` (no `cfg(test)` under this runner).
pub(crate) mod tests {
    use super::*;

    pub(crate) fn nxdomain_reply_keeps_id_and_question_and_sets_rcode_3() {
        // id 0xbeef, RD, one question: x.invalid A IN
        let mut query = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        query.extend_from_slice(b"\x01x\x07invalid\x00\x00\x01\x00\x01");
        let reply = nxdomain_reply(&query).expect("a reply");
        assert_eq!(&reply[..2], &[0xbe, 0xef]);
        assert_eq!(reply[2], 0x81, "QR and RD");
        assert_eq!(reply[3] & 0x0f, 3, "NXDOMAIN");
        assert_eq!(&reply[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&reply[12..], &query[12..]);
    }

    pub(crate) fn nxdomain_reply_ignores_answers_and_garbage() {
        assert!(nxdomain_reply(&[0; 5]).is_none());
        let mut answer = vec![0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        answer.extend_from_slice(b"\x01x\x00\x00\x01\x00\x01");
        assert!(
            nxdomain_reply(&answer).is_none(),
            "a response is not a query"
        );
        let truncated = [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0x05, b'a'];
        assert!(nxdomain_reply(&truncated).is_none());
    }
}
