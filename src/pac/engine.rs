//! One sandboxed JavaScript engine holding a loaded PAC script: a QuickJS runtime with a memory
//! limit, a stack limit and an interrupt handler that stops the script at its deadline; the
//! helper functions installed before the script runs; nothing else reachable from JavaScript
//! (QuickJS's core has no file, network, process or timer API, and none is added).
//!
//! An engine is used by one evaluation at a time (the pool in `mod.rs` hands them out) and is
//! thrown away after it hit a limit, since a script stopped mid-way may have left its globals
//! half-updated.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, UNIX_EPOCH};

use rquickjs::context::EvalOptions;
use rquickjs::{CaughtError, Coerced, Context, Ctx, Function, Object, Runtime, Value};

use super::PacLimits;
use super::host::{Lookup, PacClock, PacResolver};
use super::ip;
use super::script::PacScript;

/// The helpers, installed before the script.
const PRELUDE: &str = include_str!("prelude.js");
/// The name the script is compiled under; locations in stacks are read after it.
const SCRIPT_NAME: &str = "<pac>";
/// The most alerts kept per evaluation, and the longest kept, in bytes.
const MAX_ALERTS: usize = 16;
const MAX_ALERT_LEN: usize = 1024;
/// The most distinct names one evaluation records (further lookups still run, unrecorded).
const MAX_LOOKUPS: usize = 32;
/// The longest exception text kept, in bytes.
const MAX_EXCEPTION_LEN: usize = 1024;
/// The longest name looked up, in bytes: DNS carries no longer name (255 octets on the wire).
/// A longer one does not resolve, and is neither asked about nor recorded — the script's
/// strings are bounded by the engine's memory limit, the host's copies of them are not.
pub(crate) const MAX_NAME_LEN: usize = 255;

/// Why an evaluation (or loading the script) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The script does not compile.
    Syntax,
    /// The script threw, or `FindProxyForURL` is missing or not a function.
    Runtime,
    /// The deadline passed.
    Timeout,
    /// The memory limit was reached.
    Memory,
    /// The stack limit was reached (runaway recursion).
    Stack,
}

/// A failed evaluation, with what the engine said about it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    /// The exception as JavaScript prints it (`TypeError: ...`), bounded.
    pub(crate) exception: Option<String>,
    /// `line:column` in the PAC script.
    pub(crate) location: Option<String>,
    /// Alerts raised before the failure.
    pub(crate) alerts: Vec<String>,
}

/// One name the script looked up, and the answer it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LookupRecord {
    pub(crate) host: String,
    pub(crate) answer: Lookup,
}

/// What `FindProxyForURL` gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Returned {
    /// A string (the proxy list).
    String(String),
    /// Anything else: its JavaScript type.
    Other(&'static str),
}

/// A finished call.
#[derive(Debug, Clone)]
pub(crate) struct CallOutput {
    pub(crate) returned: Returned,
    pub(crate) alerts: Vec<String>,
    pub(crate) lookups: Vec<LookupRecord>,
    /// Names the resolver did not know yet; when any, the answer is not to be used.
    pub(crate) pending: Vec<String>,
}

/// What the native helpers and the interrupt handler share with the evaluation in progress.
#[derive(Default)]
struct CallState {
    deadline: Option<Instant>,
    interrupted: bool,
    alerts: Vec<String>,
    lookups: Vec<LookupRecord>,
    memo: HashMap<String, Lookup>,
    pending: Vec<String>,
}

type Shared = Arc<Mutex<CallState>>;

fn lock(s: &Shared) -> MutexGuard<'_, CallState> {
    // A panic while the lock was held cannot leave the state inconsistent for the next
    // evaluation: every field is reset when it begins.
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A runtime and a context with the helpers and the script loaded.
pub(crate) struct Engine {
    // Declared before the runtime so it is dropped first.
    context: Context,
    runtime: Runtime,
    shared: Shared,
    calls: std::sync::atomic::AtomicU32,
    memory_limit: usize,
}

impl Engine {
    /// A fresh engine with `script` loaded: its top-level code runs now, within `deadline`.
    pub(crate) fn new(
        script: &PacScript,
        limits: &PacLimits,
        resolver: Arc<dyn PacResolver>,
        clock: Arc<dyn PacClock>,
        deadline: Instant,
    ) -> Result<Self, Failure> {
        let internal = |what: &str| Failure {
            kind: FailureKind::Runtime,
            exception: Some(format!("the JavaScript engine could not be set up: {what}")),
            location: None,
            alerts: Vec::new(),
        };
        let runtime = Runtime::new().map_err(|e| internal(&e.to_string()))?;
        runtime.set_memory_limit(limits.memory);
        runtime.set_max_stack_size(limits.stack);
        let shared: Shared = Arc::default();
        let for_interrupt = shared.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || {
            let mut s = lock(&for_interrupt);
            let late = s.deadline.is_some_and(|d| Instant::now() >= d);
            if late {
                s.interrupted = true;
            }
            late
        })));
        let context = Context::full(&runtime).map_err(|e| internal(&e.to_string()))?;
        let engine = Self {
            context,
            runtime,
            shared,
            calls: std::sync::atomic::AtomicU32::new(0),
            memory_limit: limits.memory,
        };
        if let Some(at) = script.source().find('\0') {
            // The engine takes C strings; JavaScript has no use for a raw NUL in a PAC file.
            let (line, col) = script.line_col(at);
            return Err(Failure {
                kind: FailureKind::Syntax,
                exception: Some("SyntaxError: NUL byte in the script".to_owned()),
                location: Some(format!("{line}:{col}")),
                alerts: Vec::new(),
            });
        }
        engine.begin(deadline);
        let loaded = engine.context.with(|ctx| {
            install_natives(&ctx, &engine.shared, resolver, clock)
                .and_then(|()| eval(&ctx, PRELUDE, "<pac-helpers>"))
                .map_err(|e| engine.classify(&ctx, e, FailureKind::Runtime))?;
            eval(&ctx, script.source(), SCRIPT_NAME)
                .map_err(|e| engine.classify(&ctx, e, FailureKind::Syntax))
        });
        let state = engine.finish();
        match loaded {
            Ok(()) => Ok(engine),
            Err(mut f) => {
                f.alerts = state.alerts;
                engine.recognise_exhaustion(&mut f);
                Err(f)
            }
        }
    }

    /// Calls `FindProxyForURL(url, host)` within `deadline`.
    pub(crate) fn call(
        &self,
        url: &str,
        host: &str,
        deadline: Instant,
    ) -> Result<CallOutput, Failure> {
        self.begin(deadline);
        let result = self.context.with(|ctx| {
            let run = || -> rquickjs::Result<Returned> {
                // `FindProxyForURLEx` is Windows' entry point for IPv6-aware scripts; a script
                // that defines only it is called through it (one defining both, through
                // `FindProxyForURL`, as Chromium does).
                let mut f: Value = ctx.globals().get("FindProxyForURL")?;
                if !f.is_function() {
                    let ex: Value = ctx.globals().get("FindProxyForURLEx")?;
                    if ex.is_function() {
                        f = ex;
                    }
                }
                let Some(f) = f.as_function() else {
                    return Err(rquickjs::Exception::throw_reference(
                        &ctx,
                        "FindProxyForURL is not defined as a function",
                    ));
                };
                let v: Value = f.call((url, host))?;
                Ok(match v.as_string() {
                    Some(s) => Returned::String(s.to_string()?),
                    None => Returned::Other(v.type_name()),
                })
            };
            run().map_err(|e| self.classify(&ctx, e, FailureKind::Runtime))
        });
        let state = self.finish();
        match result {
            Ok(returned) => Ok(CallOutput {
                returned,
                alerts: state.alerts,
                lookups: state.lookups,
                pending: state.pending,
            }),
            Err(mut f) => {
                f.alerts = state.alerts;
                self.recognise_exhaustion(&mut f);
                Err(f)
            }
        }
    }

    /// When memory runs out, QuickJS may not even manage to allocate the exception and throws
    /// `null` (or the script catches the error and throws something else): a runtime failure
    /// with the heap at its limit is the memory limit.
    fn recognise_exhaustion(&self, f: &mut Failure) {
        if f.kind == FailureKind::Runtime
            && (self.memory_used() as u64) >= (self.memory_limit as u64) / 10 * 9
        {
            f.kind = FailureKind::Memory;
        }
    }

    /// The bytes the runtime has allocated. Walks the whole heap: call it rarely.
    pub(crate) fn memory_used(&self) -> i64 {
        self.runtime.memory_usage().malloc_size
    }

    /// Counts a call; true every 64th, when the caller should look at the memory in use.
    pub(crate) fn due_for_checkup(&self) -> bool {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .is_multiple_of(64)
    }

    fn begin(&self, deadline: Instant) {
        *lock(&self.shared) = CallState {
            deadline: Some(deadline),
            ..CallState::default()
        };
    }

    /// Ends the evaluation: takes what it recorded and disarms the deadline.
    fn finish(&self) -> CallState {
        std::mem::take(&mut *lock(&self.shared))
    }

    /// Turns an engine error into a [`Failure`]; `compile` is the kind a `SyntaxError` means
    /// here (a syntax error while loading the script, a runtime error from `eval` later).
    fn classify(&self, ctx: &Ctx<'_>, err: rquickjs::Error, compile: FailureKind) -> Failure {
        // Reading the exception may run the script's code (a getter, a toString); the deadline
        // stays armed, so a hostile one is interrupted too.
        let caught = CaughtError::from_error(ctx, err);
        // QuickJS throws `null` when it runs out of memory while building the error object
        // itself; a script throwing `null` on purpose is read the same way (rare, and still
        // `pac.runtime`).
        let null_thrown = matches!(&caught, CaughtError::Value(v) if v.is_null());
        let (text, name, stack) = match &caught {
            CaughtError::Exception(ex) => {
                let name = ex
                    .get::<_, Coerced<String>>("name")
                    .map(|c| c.0)
                    .unwrap_or_default();
                let message = ex.message().unwrap_or_default();
                (format!("{name}: {message}"), name, ex.stack())
            }
            CaughtError::Value(v) => {
                let text = v
                    .get::<Coerced<String>>()
                    .map(|c| c.0)
                    .unwrap_or_else(|_| v.type_name().to_owned());
                (
                    format!("uncaught {}: {text}", v.type_name()),
                    String::new(),
                    None,
                )
            }
            CaughtError::Error(e) => (e.to_string(), String::new(), None),
        };
        // Read after the exception's text: producing it may itself have run into the deadline.
        let interrupted = lock(&self.shared).interrupted;
        let kind = if interrupted {
            FailureKind::Timeout
        } else if null_thrown
            || text.contains("out of memory")
            || (name == "InternalError" && text.contains("string too long"))
        {
            // Both are runaway allocation: QuickJS concatenates strings lazily, so doubling a
            // string reaches its length limit before the memory limit.
            FailureKind::Memory
        } else if matches!(name.as_str(), "RangeError" | "InternalError")
            && (text.contains("call stack") || text.contains("stack overflow"))
        {
            FailureKind::Stack
        } else if name == "SyntaxError" {
            compile
        } else {
            FailureKind::Runtime
        };
        Failure {
            kind,
            exception: Some(cut(&crate::proxy::redact_text(&text), MAX_EXCEPTION_LEN)),
            location: stack.as_deref().and_then(script_location),
            alerts: Vec::new(),
        }
    }
}

fn eval(ctx: &Ctx<'_>, source: &str, name: &str) -> rquickjs::Result<()> {
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(name.to_owned());
    ctx.eval_with_options::<(), _>(source, options)
}

/// The functions the prelude needs from Rust, under one global the prelude removes.
fn install_natives(
    ctx: &Ctx<'_>,
    shared: &Shared,
    resolver: Arc<dyn PacResolver>,
    clock: Arc<dyn PacClock>,
) -> rquickjs::Result<()> {
    let native = Object::new(ctx.clone())?;

    let (s, r) = (shared.clone(), resolver.clone());
    native.set(
        "dnsResolve",
        Function::new(ctx.clone(), move |host: String| -> Option<String> {
            // Browsers' dnsResolve gives the first IPv4 address (Chromium asks for IPv4 only).
            match lookup(&s, r.as_ref(), &host) {
                Lookup::Found(addrs) => addrs.iter().find(|a| a.is_ipv4()).map(IpAddr::to_string),
                Lookup::NotFound | Lookup::Pending => None,
            }
        })?,
    )?;

    let (s, r) = (shared.clone(), resolver.clone());
    native.set(
        "dnsResolveEx",
        Function::new(ctx.clone(), move |host: String| -> String {
            // Every address, both families, in the resolver's order; "" when there is none.
            match lookup(&s, r.as_ref(), &host) {
                Lookup::Found(addrs) => ip::join(&addrs),
                Lookup::NotFound | Lookup::Pending => String::new(),
            }
        })?,
    )?;

    let r = resolver.clone();
    native.set(
        "myIpAddress",
        Function::new(ctx.clone(), move || -> String {
            r.my_ip_address()
                .map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string())
        })?,
    )?;

    let r = resolver;
    native.set(
        "myIpAddressEx",
        Function::new(ctx.clone(), move || -> String {
            // Chromium answers the loopback rather than "" when it finds no address.
            let mine = r.my_ip_addresses();
            if mine.is_empty() {
                "127.0.0.1".to_owned()
            } else {
                ip::join(&mine)
            }
        })?,
    )?;

    native.set(
        "isIpLiteral",
        Function::new(ctx.clone(), |text: String| -> bool {
            ip::ip_literal(&text).is_some()
        })?,
    )?;

    native.set(
        "isInNetEx",
        Function::new(ctx.clone(), |address: String, net: String| -> bool {
            match (ip::ip_literal(&address), ip::prefix(&net)) {
                (Some(a), Some((n, bits))) => ip::in_prefix(a, n, bits),
                _ => false,
            }
        })?,
    )?;

    native.set(
        "ipSortKey",
        Function::new(ctx.clone(), |text: String| -> Option<String> {
            ip::ip_literal(&text).map(ip::sort_key)
        })?,
    )?;

    let c = clock.clone();
    native.set(
        "nowMs",
        Function::new(ctx.clone(), move || -> f64 {
            match c.now().duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_millis() as f64,
                Err(before) => -(before.duration().as_millis() as f64),
            }
        })?,
    )?;

    let c = clock;
    native.set(
        "utcOffsetMinutes",
        Function::new(ctx.clone(), move |ms: f64| -> Option<i32> {
            let at = if ms >= 0.0 {
                UNIX_EPOCH + std::time::Duration::from_millis(ms as u64)
            } else {
                UNIX_EPOCH - std::time::Duration::from_millis((-ms) as u64)
            };
            c.utc_offset_minutes(at)
        })?,
    )?;

    let s = shared.clone();
    native.set(
        "alert",
        Function::new(ctx.clone(), move |message: String| {
            let mut st = lock(&s);
            if st.alerts.len() < MAX_ALERTS {
                st.alerts
                    .push(cut(&crate::proxy::redact_text(&message), MAX_ALERT_LEN));
            }
        })?,
    )?;

    ctx.globals().set("__proxyscope_pac", native)
}

/// One lookup through the resolver, memoised for the evaluation and recorded. A name with
/// non-ASCII characters is looked up in its ASCII (IDNA) form, as browsers do; one that has
/// none does not resolve.
fn lookup(shared: &Shared, resolver: &dyn PacResolver, host: &str) -> Lookup {
    // Bounded work on the script's strings: four bytes for each character of a name within
    // the limit is more than any real name takes before its conversion to ASCII.
    if host.len() > MAX_NAME_LEN * 4 {
        return Lookup::NotFound;
    }
    let ascii;
    let host = if host.is_ascii() {
        host
    } else {
        ascii = match url::Host::parse(host) {
            Ok(url::Host::Domain(d)) => d,
            Ok(literal) => literal.to_string(),
            Err(_) => return Lookup::NotFound,
        };
        ascii.as_str()
    };
    if host.len() > MAX_NAME_LEN {
        return Lookup::NotFound;
    }
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Lookup::Found(vec![ip]);
    }
    let key = host.to_ascii_lowercase();
    let deadline = {
        let st = lock(shared);
        if let Some(answer) = st.memo.get(&key) {
            return answer.clone();
        }
        st.deadline.unwrap_or_else(Instant::now)
    };
    // The lock is not held while the resolver works: it may take until the deadline.
    let answer = match resolver.lookup(&key, deadline) {
        Lookup::Found(a) if a.is_empty() => Lookup::NotFound,
        other => other,
    };
    let mut st = lock(shared);
    if st.memo.len() < MAX_LOOKUPS {
        st.memo.insert(key.clone(), answer.clone());
        st.lookups.push(LookupRecord {
            host: key.clone(),
            answer: answer.clone(),
        });
    }
    if answer == Lookup::Pending && st.pending.len() < MAX_LOOKUPS && !st.pending.contains(&key) {
        st.pending.push(key);
    }
    answer
}

/// `line:column` of the innermost frame in the PAC script itself, from a QuickJS stack
/// (`    at FindProxyForURL (<pac>:12:9)`).
fn script_location(stack: &str) -> Option<String> {
    let at = stack.find(SCRIPT_NAME)? + SCRIPT_NAME.len();
    let rest = stack[at..].strip_prefix(':')?;
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    let loc = rest[..end].trim_end_matches(':');
    let mut parts = loc.split(':');
    match (parts.next(), parts.next()) {
        (Some(l), Some(c)) if !l.is_empty() && !c.is_empty() => Some(format!("{l}:{c}")),
        (Some(l), None) if !l.is_empty() => Some(l.to_owned()),
        _ => None,
    }
}

/// At most `max` bytes of `s`, cut at a character boundary, with `…` when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_read_from_the_scripts_own_frame() {
        assert_eq!(
            script_location("    at FindProxyForURL (<pac>:12:9)\n    at <eval> (<x>:1:1)"),
            Some("12:9".to_owned())
        );
        assert_eq!(
            script_location("    at <pac>:3:14\n"),
            Some("3:14".to_owned())
        );
        assert_eq!(script_location("    at f (<pac-helpers>:1:1)"), None);
        assert_eq!(script_location("no frames"), None);
    }

    #[test]
    fn cut_respects_character_boundaries() {
        assert_eq!(cut("héllo", 2), "h…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
