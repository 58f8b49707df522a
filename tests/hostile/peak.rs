//! Peak memory of this process, measured by the kernel: `VmHWM` (the resident set's high-water
//! mark) in `/proc/self/status`, reset by writing `5` to `/proc/self/clear_refs`. The crate
//! forbids `unsafe`, so a counting allocator is not an option; the kernel's figure covers every
//! allocation anyway.
//!
//! The mark is process-wide, so measurements take [`LOCK`]: two measured tests never overlap.
//! Other tests of the binary may still allocate meanwhile; bounds leave room for that.

use std::sync::Mutex;

/// Held for the whole of a measured section.
pub(crate) static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Serialises reset-and-read against itself (a reset in one thread, a read in another).
static MARK: Mutex<()> = Mutex::new(());

/// Resets the high-water mark to the current resident set and returns it, in bytes.
pub(crate) fn reset() -> u64 {
    let _g = MARK.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM (Linux ≥ 4.0)");
    field("VmRSS")
}

/// The high-water mark since the last [`reset`], in bytes.
pub(crate) fn high_water() -> u64 {
    let _g = MARK.lock().unwrap_or_else(|e| e.into_inner());
    field("VmHWM")
}

fn field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /proc/self/status"));
    kib * 1024
}

/// Runs `f` and returns its output with the growth of the resident set's peak over the start.
pub(crate) async fn measure<T>(f: impl std::future::Future<Output = T>) -> (T, u64) {
    let start = reset();
    let out = f.await;
    let grew = high_water().saturating_sub(start);
    // For `--nocapture` runs: the figures the README and the issue notes quote.
    eprintln!(
        "peak resident set grew {:.1} MiB",
        grew as f64 / (1 << 20) as f64
    );
    (out, grew)
}

/// `n` MiB.
pub(crate) const fn mib(n: u64) -> u64 {
    n << 20
}

/// Holds [`LOCK`] from a synchronous test, for tests that allocate a lot (so a measured
/// section elsewhere in the binary does not count their memory).
pub(crate) fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    LOCK.blocking_lock()
}

/// The meter is only worth its bounds if it sees memory: a buffer of 64 MiB, every page
/// touched, must show up — otherwise every `grew < bound` in this binary would pass vacuously.
#[test]
fn the_meter_sees_memory_that_is_touched() {
    let _one = exclusive();
    let start = reset();
    let mut buf = vec![0u8; mib(64) as usize];
    // One write per page, so the kernel backs every page (a zeroed allocation alone may not be).
    for i in (0..buf.len()).step_by(4096) {
        buf[i] = 1;
    }
    let grew = high_water().saturating_sub(start);
    assert_eq!(
        buf.iter().step_by(4096).filter(|&&b| b == 1).count(),
        buf.len() / 4096
    );
    drop(buf);
    assert!(
        grew >= mib(60),
        "a 64 MiB buffer grew the peak by only {grew} bytes"
    );
    // And after a reset the buffer, now freed, no longer counts.
    let start = reset();
    assert!(high_water().saturating_sub(start) < mib(32));
}
