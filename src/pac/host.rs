//! What a PAC script may learn about the world, behind two small traits so that tests pin it and
//! the client plugs in its own: names and the local address ([`PacResolver`], used by
//! `dnsResolve`, `dnsResolveEx`, `isResolvable`, `isResolvableEx`, `isInNet` on names,
//! `myIpAddress` and `myIpAddressEx`) and the time
//! ([`PacClock`], used by `weekdayRange`, `dateRange` and `timeRange`).
//!
//! A resolver is called synchronously from inside the script and must answer by the deadline it
//! is given (the evaluation's own). An asynchronous client does not block: it answers
//! [`Lookup::Pending`] for a name it has not resolved yet; the evaluation then finishes, its
//! answer is discarded, and the caller is told which names to resolve before evaluating again
//! (how Chromium evaluates PAC without blocking its network thread).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Instant, SystemTime};

/// The answer to one name lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The name's addresses, in preference order (never empty).
    Found(Vec<IpAddr>),
    /// The name does not resolve (NXDOMAIN, no addresses, or the lookup failed or timed out):
    /// `dnsResolve` returns `null`, as in browsers.
    NotFound,
    /// Not known yet: the caller resolves the name and evaluates again.
    Pending,
}

/// Name resolution for PAC scripts.
pub trait PacResolver: Send + Sync + 'static {
    /// The addresses of `host` (a name, never an IP literal), answered by `deadline`.
    fn lookup(&self, host: &str, deadline: Instant) -> Lookup;

    /// The address `myIpAddress()` returns; `None` means `127.0.0.1`, the browsers' fallback.
    fn my_ip_address(&self) -> Option<IpAddr> {
        None
    }

    /// The addresses `myIpAddressEx()` returns, IPv4 and IPv6; empty means `127.0.0.1`, as in
    /// Chromium. By default, the one address of [`PacResolver::my_ip_address`].
    fn my_ip_addresses(&self) -> Vec<IpAddr> {
        self.my_ip_address().into_iter().collect()
    }
}

/// A fixed table of names, like curl's `--resolve`: every other name does not resolve. The
/// resolver for tests, for `probe route` (no network) and for callers that resolve ahead.
#[derive(Clone, Default)]
pub struct PinnedNames {
    names: HashMap<String, Vec<IpAddr>>,
    unknown_pending: bool,
    my_ips: Vec<IpAddr>,
}

impl fmt::Debug for PinnedNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedNames")
            .field("names", &self.names.len())
            .field("unknown_pending", &self.unknown_pending)
            .field("my_ips", &self.my_ips)
            .finish()
    }
}

impl PinnedNames {
    /// An empty table: no name resolves.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pins `host` (case-insensitive, one trailing dot ignored) to `addrs`; an empty list makes
    /// the name fail to resolve.
    pub fn pin(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.insert(host, addrs);
        self
    }

    /// Pins `host` in place; see [`PinnedNames::pin`].
    pub fn insert(&mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) {
        self.names
            .insert(normalize(host), addrs.into_iter().collect());
    }

    /// Names not in the table answer [`Lookup::Pending`] instead of [`Lookup::NotFound`]: the
    /// table is a cache an asynchronous caller fills and evaluates again.
    pub fn unknown_pending(mut self) -> Self {
        self.unknown_pending = true;
        self
    }

    /// The address `myIpAddress()` and `myIpAddressEx()` return.
    pub fn my_ip(self, ip: IpAddr) -> Self {
        self.my_ips([ip])
    }

    /// The addresses `myIpAddressEx()` returns; `myIpAddress()` returns the first IPv4 one
    /// (the first of all when there is none).
    pub fn my_ips(mut self, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.my_ips = ips.into_iter().collect();
        self
    }
}

impl PacResolver for PinnedNames {
    fn lookup(&self, host: &str, _deadline: Instant) -> Lookup {
        match self.names.get(&normalize(host)) {
            Some(addrs) if addrs.is_empty() => Lookup::NotFound,
            Some(addrs) => Lookup::Found(addrs.clone()),
            None if self.unknown_pending => Lookup::Pending,
            None => Lookup::NotFound,
        }
    }

    fn my_ip_address(&self) -> Option<IpAddr> {
        let v4 = self.my_ips.iter().find(|ip| ip.is_ipv4());
        v4.or(self.my_ips.first()).copied()
    }

    fn my_ip_addresses(&self) -> Vec<IpAddr> {
        self.my_ips.clone()
    }
}

fn normalize(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// The time the date and time helpers see.
pub trait PacClock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;

    /// The local time zone's offset from UTC at `at`, in minutes east of UTC (`+60` for CET);
    /// `None` means the offset the JavaScript engine computes from the system time zone.
    fn utc_offset_minutes(&self, at: SystemTime) -> Option<i32> {
        let _ = at;
        None
    }
}

/// The system clock and time zone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl PacClock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock stopped at one instant in a fixed time zone: what tests of the time helpers use.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock {
    at: SystemTime,
    offset_minutes: i32,
}

impl FixedClock {
    /// Stopped at `at`, with local time `offset_minutes` east of UTC.
    pub fn new(at: SystemTime, offset_minutes: i32) -> Self {
        Self { at, offset_minutes }
    }

    /// Stopped at `unix_seconds` after 1970-01-01T00:00:00Z, local time `offset_minutes` east
    /// of UTC.
    pub fn at_unix(unix_seconds: u64, offset_minutes: i32) -> Self {
        Self::new(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds),
            offset_minutes,
        )
    }
}

impl PacClock for FixedClock {
    fn now(&self) -> SystemTime {
        self.at
    }

    fn utc_offset_minutes(&self, _at: SystemTime) -> Option<i32> {
        Some(self.offset_minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_names_are_case_and_trailing_dot_insensitive() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let names = PinnedNames::new()
            .pin("Proxy.Example.", [ip])
            .pin("gone.example", []);
        let d = Instant::now();
        assert_eq!(names.lookup("proxy.example", d), Lookup::Found(vec![ip]));
        assert_eq!(names.lookup("PROXY.EXAMPLE.", d), Lookup::Found(vec![ip]));
        assert_eq!(names.lookup("gone.example", d), Lookup::NotFound);
        assert_eq!(names.lookup("other.example", d), Lookup::NotFound);
        let pending = names.clone().unknown_pending();
        assert_eq!(pending.lookup("other.example", d), Lookup::Pending);
        assert_eq!(pending.lookup("gone.example", d), Lookup::NotFound);
        assert_eq!(names.my_ip_address(), None);
        assert!(names.my_ip_addresses().is_empty());
        let v6: IpAddr = "2001:db8::5".parse().unwrap();
        let mine = names.my_ips([v6, ip]);
        assert_eq!(mine.my_ip_address(), Some(ip));
        assert_eq!(mine.my_ip_addresses(), [v6, ip]);
        assert_eq!(mine.my_ips([v6]).my_ip_address(), Some(v6));
    }
}
