//! A criterion [`Measurement`] of CPU time instead of wall time: the benchmark machine is
//! shared, and time slices given to other processes would otherwise be counted as ours.
//!
//! [`ThreadCpu`] reads the calling thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`), right for
//! single-threaded work such as matching and route resolution. [`ProcessCpu`] reads the whole
//! process's (`CLOCK_PROCESS_CPUTIME_ID`), for benches whose work spans runtime threads (client,
//! proxy and origin in one process): it is the CPU a request costs, all parties included.

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};
use rustix::time::{ClockId, clock_gettime};

fn now_ns(id: ClockId) -> u64 {
    let t = clock_gettime(id);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// CPU time the calling thread has run so far, in nanoseconds, from the scheduler's own count
/// (`/proc/thread-self/schedstat`), or `None` where there is none. Not the vDSO clock that
/// [`ThreadCpu`] reads: that one faults under valgrind, and the count mode that reports this
/// runs under valgrind too.
pub fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time of the measuring thread.
pub struct ThreadCpu;

/// The criterion settings of every bench measured in [`ThreadCpu`]: one second of warm-up,
/// three of measurement.
pub fn thread_cpu_criterion() -> criterion::Criterion<ThreadCpu> {
    criterion::Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
}

/// CPU time of the whole process.
pub struct ProcessCpu;

macro_rules! cpu_measurement {
    ($t:ty, $clock:expr) => {
        impl Measurement for $t {
            type Intermediate = u64;
            type Value = u64;
            fn start(&self) -> u64 {
                now_ns($clock)
            }
            fn end(&self, start: u64) -> u64 {
                now_ns($clock).saturating_sub(start)
            }
            fn add(&self, a: &u64, b: &u64) -> u64 {
                a + b
            }
            fn zero(&self) -> u64 {
                0
            }
            fn to_f64(&self, v: &u64) -> f64 {
                *v as f64
            }
            fn formatter(&self) -> &dyn ValueFormatter {
                &CpuFormatter
            }
        }
    };
}

cpu_measurement!(ThreadCpu, ClockId::ThreadCPUTime);
cpu_measurement!(ProcessCpu, ClockId::ProcessCPUTime);

/// Formats nanoseconds of CPU time as criterion formats wall time, with a `cpu` unit suffix.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns(cpu)")
        } else if typical < 1e6 {
            (1e-3, "µs(cpu)")
        } else if typical < 1e9 {
            (1e-6, "ms(cpu)")
        } else {
            (1e-9, "s(cpu)")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                for v in values {
                    *v = n as f64 * 1e9 / *v / (1024.0 * 1024.0);
                }
                "MiB/s(cpu)"
            }
            Throughput::Elements(n) => {
                for v in values {
                    *v = n as f64 * 1e9 / *v;
                }
                "elem/s(cpu)"
            }
            Throughput::Bits(n) => {
                for v in values {
                    *v = n as f64 * 1e9 / *v;
                }
                "bit/s(cpu)"
            }
        }
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
