//! The library's own rayon pool: sized by `FERROKERN_THREADS` or [`set_threads`], and rebuilt
//! in a child process after `fork()`.
//!
//! Why not rayon's global pool: a forked child inherits the pool's bookkeeping but none of its
//! threads, so the child's first parallel call would wait forever for workers that do not
//! exist (Python's `multiprocessing` forks by default on Linux). We remember the pid that
//! built the pool and build a fresh one when it changes. The stale pool is leaked on purpose:
//! dropping it would try to talk to threads that are not there.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Error, ErrorKind, Result};

struct PoolState {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

/// The pools built so far, one per thread count in use: usually one, two when a thread
/// limits its own calls ([`set_local_threads`]) while others use the process-wide count,
/// so neither rebuilds the other's pool on every call.
static POOLS: Mutex<Vec<PoolState>> = Mutex::new(Vec::new());
/// 0 means "not set": use `FERROKERN_THREADS`, else every core.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

std::thread_local! {
    /// This OS thread's own limit ([`set_local_threads`]); 0: none.
    static LOCAL: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Upper bound on a thread count, to turn absurd requests into an error instead of an abort.
pub(crate) const MAX_THREADS: usize = 1024;

/// Set the number of worker threads for later calls; 0 restores the default.
pub fn set_threads(n: usize) -> Result<()> {
    check_threads(n)?;
    REQUESTED.store(n, Ordering::SeqCst);
    Ok(())
}

/// Limit the calls made from the calling OS thread to at most `n` worker threads (0 removes
/// the limit). For a pipeline whose other thread does heavy work of its own at the same
/// time (Python's main thread encoding and converting while a worker thread runs the
/// library, see bindings/python `_pipelined`): with every core in the pool that thread is
/// preempted by the pool's threads, and it is the one the pipeline waits for.
pub fn set_local_threads(n: usize) -> Result<()> {
    check_threads(n)?;
    LOCAL.with(|l| l.set(n));
    Ok(())
}

/// The calling thread's own limit ([`set_local_threads`]; 0: none).
pub fn local_threads() -> usize {
    LOCAL.with(|l| l.get())
}

/// A thread count any setter accepts (0 included: "the default").
pub fn check_threads(n: usize) -> Result<()> {
    if n > MAX_THREADS {
        return Err(Error::invalid(format!(
            "thread count {n} is above the limit of {MAX_THREADS}"
        )));
    }
    Ok(())
}

/// The thread count the next parallel call from this thread will use.
pub fn threads() -> usize {
    let all = match REQUESTED.load(Ordering::SeqCst) {
        0 => default_threads(),
        n => n,
    };
    match local_threads() {
        0 => all,
        local => local.min(all),
    }
}

/// `FERROKERN_THREADS`, else every core this process may run on: worked out once per
/// process (a forked child, which may run on other cores, works it out again).
/// `available_parallelism` reads the cgroup's CPU quota files on every call: four file
/// opens and reads, ~40 % of a call on a small input when it ran per call (several times
/// per call, through [`threads`]).
fn default_threads() -> usize {
    // pid in the high half, the count (≤ MAX_THREADS) in the low half; 0 = not yet known.
    static CACHED: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let cached = CACHED.load(Ordering::Relaxed);
    if cached != 0 && (cached >> 32) as u32 == pid {
        return (cached & u64::from(u32::MAX)) as usize;
    }
    let n = default_threads_now();
    CACHED.store((u64::from(pid) << 32) | n as u64, Ordering::Relaxed);
    n
}

fn default_threads_now() -> usize {
    if let Ok(v) = std::env::var("FERROKERN_THREADS") {
        if let Ok(n) = v.trim().parse::<usize>() {
            if (1..=MAX_THREADS).contains(&n) {
                return n;
            }
        }
    }
    std::thread::available_parallelism()
        .map(|n| n.get().min(MAX_THREADS))
        .unwrap_or(1)
}

fn current_pool() -> Result<Arc<ThreadPool>> {
    let want = threads();
    let pid = std::process::id();
    // A poisoned lock only means another call panicked while holding it; the state is still valid.
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(state) = pools.iter().find(|s| s.pid == pid && s.threads == want) {
        return Ok(state.pool.clone());
    }
    // Pools of a parent process (after fork) are leaked: their threads are not ours. Of
    // this process's, keep the one other count in use (see POOLS); older ones are dropped
    // (their threads exit once no call holds them).
    let stale = std::mem::take(&mut *pools);
    for old in stale {
        if old.pid != pid {
            std::mem::forget(old);
        } else if pools.is_empty() {
            pools.push(old);
        }
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(want)
        .thread_name(|i| format!("ferrokern-{i}"))
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::OutOfMemory,
                format!("cannot start {want} worker threads: {e}"),
            )
        })?;
    let pool = Arc::new(pool);
    pools.push(PoolState {
        pid,
        threads: want,
        pool: pool.clone(),
    });
    Ok(pool)
}

/// Default of [`serial`]'s threshold, in bytes of input: below it a kernel runs on the
/// calling thread. Measured on the 2-core test machine with `bench/bench_arrays.py`'s
/// small-input rows and `FERROKERN_SERIAL_BYTES` set to 0 (always parallel) against a
/// large value (always serial): handing work to the pool and waiting for it costs tens of
/// microseconds, which is what a serial pass over a few hundred kilobytes takes.
pub(crate) const DEFAULT_SERIAL_BYTES: usize = 256 << 10;

/// Whether a kernel touching `bytes` bytes of input should run serially on the calling
/// thread rather than in the pool (also when the pool has one thread: the hand-off to it
/// is pure cost). `FERROKERN_SERIAL_BYTES` overrides the threshold (read once), to measure
/// the crossover on another machine.
pub fn serial(bytes: usize) -> bool {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let limit = *LIMIT.get_or_init(|| {
        std::env::var("FERROKERN_SERIAL_BYTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_SERIAL_BYTES)
    });
    bytes < limit || threads() == 1
}

/// Run `f` inside the library's pool (so rayon calls in `f` use it).
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R> {
    let pool = current_pool()?;
    Ok(pool.install(f))
}

/// Run `a` on the calling thread and `b` on a scoped helper thread named `name`, at once,
/// and return both results (`b`'s panic, if it panicked, as the error). A helper that
/// cannot be started leaves `b` to the calling thread, after `a`. For two independent
/// halves of one job outside the pool (the report's kv map and its counting maps), whose
/// caller is itself a single thread that the pool's workers do not wait for.
pub fn on_two_threads<A, B: Send>(
    name: &str,
    a: impl FnOnce() -> A,
    b: impl FnOnce() -> B + Send,
) -> (A, std::thread::Result<B>) {
    // `b` is taken by the helper when it runs; still here when it could not start.
    let mut b = Some(b);
    let (a, helper) = std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .name(name.into())
            .spawn_scoped(s, || b.take().map(|f| f()));
        (a(), helper.map(|h| h.join()))
    });
    let b = match helper {
        Ok(Ok(Some(v))) => Ok(v),
        Ok(Err(panic)) => Err(panic),
        Ok(Ok(None)) | Err(_) => match b.take() {
            Some(f) => Ok(f()),
            None => Err(Box::new("the helper thread's work was lost") as Box<dyn std::any::Any + Send>),
        },
    };
    (a, b)
}

/// How often [`run_polled`] calls its poll function on the calling thread. Kernels check
/// the stop flag far more often (every segment or block, well under a millisecond of work),
/// so a cancellation takes effect within about this interval.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// A stop flag and a progress counter shared by a long kernel's tasks (see [`run_polled`]).
#[derive(Default)]
pub struct Stop {
    flag: AtomicBool,
    done: AtomicU64,
}

impl Stop {
    /// A flag that is never raised (runs without a poll function).
    pub fn new() -> Stop {
        Stop::default()
    }
    /// Whether the caller asked to stop; a kernel checks it at a bounded interval and
    /// returns early (its partial result is discarded).
    #[inline]
    pub fn stopped(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
    /// Record `n` more units of work done (reported to the poll function).
    #[inline]
    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// Run `work` and, while it runs, call `poll(done, total)` on the calling thread every
/// [`POLL_INTERVAL`]; when `poll` returns false the [`Stop`] flag is raised, `work` (which
/// checks it at a bounded interval) returns early and the result is `ErrorKind::Cancelled`.
/// This is the report's progress-callback mechanism applied to the array kernels: from
/// Python the poll is a cffi callback, in which a pending SIGINT raises KeyboardInterrupt.
///
/// Without `poll`, `work` simply runs on the calling thread (it decides itself whether to
/// use the pool). With `poll`, `work` runs as a job in the pool while the calling thread
/// waits with a timeout, so the poll happens on the thread that made the call (Python
/// runs signal handlers only on the main thread) even when the pool has one thread.
pub fn run_polled<R: Send>(
    total: u64,
    poll: Option<&mut dyn FnMut(u64, u64) -> bool>,
    work: impl FnOnce(&Stop) -> R + Send,
) -> Result<R> {
    let stop = Stop::new();
    let Some(poll) = poll else {
        return Ok(work(&stop));
    };
    let pool = current_pool()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let stop_ref = &stop;
    let got = pool.in_place_scope(|s| {
        s.spawn(move |_| {
            // A send fails only if the receiver is gone, which cannot happen before the
            // scope ends; nothing to do then.
            let _ = tx.send(work(stop_ref));
        });
        loop {
            match rx.recv_timeout(POLL_INTERVAL) {
                Ok(r) => return Some(r),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if !stop_ref.stopped() && !poll(stop_ref.done.load(Ordering::Relaxed), total) {
                        stop_ref.flag.store(true, Ordering::Relaxed);
                    }
                }
                // The job panicked (the scope re-raises the panic when it ends).
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    });
    if stop.stopped() {
        return Err(Error::new(
            ErrorKind::Cancelled,
            "cancelled by the progress callback",
        ));
    }
    got.ok_or_else(|| Error::new(ErrorKind::Internal, "a worker task was lost"))
}

/// Split `0..n` items into contiguous ranges of roughly `target` weight each, where
/// `weight(i)` is item i's cost (bytes for texts). A heavy item gets a range of its own, so
/// one big document among many small ones does not serialize the batch. The split depends
/// only on the weights and `target`, never on timing.
pub fn balanced_ranges(
    n: usize,
    target: usize,
    max_items: usize,
    weight: impl Fn(usize) -> usize,
) -> Vec<std::ops::Range<usize>> {
    let target = target.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut acc = 0usize;
    for i in 0..n {
        let w = weight(i).saturating_add(16); // per-item overhead, so empty texts still count
        if i > start && (acc + w > target || i - start >= max_items) {
            out.push(start..i);
            start = i;
            acc = 0;
        }
        acc += w;
    }
    if start < n {
        out.push(start..n);
    }
    out
}

/// Chunk size for a batch of `total` bytes: several chunks per thread for balance, but not so
/// small that per-chunk overhead shows.
pub fn chunk_target(total: usize) -> usize {
    let per = total / (threads() * 8).max(1);
    per.clamp(64 * 1024, 8 * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_two_threads_runs_both_and_returns_the_helpers_panic() {
        let name = || std::thread::current().name().map(str::to_owned);
        let (a, b) = on_two_threads("fk-test-helper", name, name);
        assert_eq!(b.unwrap().as_deref(), Some("fk-test-helper"));
        assert_ne!(a.as_deref(), Some("fk-test-helper"));
        let (a, b) = on_two_threads("fk-test-helper", || 1, || -> u8 { panic!("lost") });
        assert_eq!(a, 1);
        assert_eq!(crate::error::panic_message(&*b.unwrap_err()), "lost");
    }

    #[test]
    fn a_local_limit_holds_for_its_own_thread_only() {
        // In a thread of its own: other tests change the process-wide count meanwhile.
        std::thread::spawn(|| {
            set_local_threads(1).unwrap();
            assert_eq!(threads(), 1);
            assert_eq!(
                run(rayon::current_num_threads).unwrap(),
                1,
                "the pool a call uses"
            );
            assert!(set_local_threads(MAX_THREADS + 1).is_err());
            assert_eq!(threads(), 1, "a refused limit changes nothing");
            let other = std::thread::spawn(|| LOCAL.with(|l| l.get())).join().unwrap();
            assert_eq!(other, 0, "a new thread starts without a limit");
            set_local_threads(0).unwrap();
            assert_eq!(LOCAL.with(|l| l.get()), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn ranges_cover_everything_in_order() {
        let w = [5usize, 100_000, 3, 3, 3, 7, 0, 0];
        let r = balanced_ranges(w.len(), 64, 1000, |i| w[i]);
        let flat: Vec<usize> = r.iter().flat_map(|r| r.clone()).collect();
        assert_eq!(flat, (0..w.len()).collect::<Vec<_>>());
        assert!(r.contains(&(1..2)), "heavy item alone: {r:?}");
    }

    #[test]
    fn max_items_caps_a_range() {
        let r = balanced_ranges(10, usize::MAX, 3, |_| 0);
        assert_eq!(r, vec![0..3, 3..6, 6..9, 9..10]);
    }

    #[test]
    fn run_polled_cancels_and_reports_progress() {
        // Without a poll the work runs to the end.
        assert_eq!(run_polled(1, None, |_| 7).unwrap(), 7);
        // A poll that says stop: the work sees the flag and the call is Cancelled.
        let mut seen = Vec::new();
        let mut poll = |done: u64, total: u64| {
            seen.push((done, total));
            false
        };
        let r = run_polled(100, Some(&mut poll), |stop| {
            stop.advance(1);
            let t = std::time::Instant::now();
            while !stop.stopped() {
                assert!(t.elapsed().as_secs() < 10, "never stopped");
                std::thread::yield_now();
            }
            1
        });
        assert_eq!(r.unwrap_err().kind, ErrorKind::Cancelled);
        assert_eq!(seen, vec![(1, 100)]);
        // A poll that says go on: the result comes back.
        let mut go = |_: u64, _: u64| true;
        let r = run_polled(1, Some(&mut go), |_| {
            std::thread::sleep(3 * POLL_INTERVAL);
            5
        });
        assert_eq!(r.unwrap(), 5);
    }

    #[test]
    fn run_uses_requested_threads() {
        let n = run(rayon::current_num_threads).unwrap();
        assert_eq!(n, threads());
        assert!(set_threads(MAX_THREADS + 1).is_err());
    }
}
