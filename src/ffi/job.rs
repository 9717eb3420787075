//! Background jobs: a per-text call (findall, emails, kv) started on a thread of its own and
//! waited for later, its result ready as a pickle stream or a result handle.
//!
//! Why: a binding whose own thread holds a lock that every other thread of it must take to
//! run (Python's GIL) pipelined its slices through a worker thread of its own, and that
//! thread had to take the GIL to start each call and again to hand back each result, so
//! every hand-off waited for the main thread's next pause in encoding or unpickling. A job
//! needs nothing from the caller between start and wait: the main thread encodes slice
//! i+1 and unpickles slice i-1 while the job runs slice i, and waits in C (docs/python.md,
//! "Background jobs").
//!
//! A job borrows what it was started with (the texts' buffers and their `FkTexts`) until
//! it has finished: `fk_job_wait` and `fk_job_free` both wait for it, so a caller that
//! keeps them alive until one of those returns is safe whatever happens in between. The
//! pattern handle is pinned by the job itself (a `fk_pattern_free` meanwhile is deferred).

use std::sync::Mutex;
use std::thread::JoinHandle;

use super::text::{FkKeySums, FkMatches, FkPattern, FkTexts, FK_FINDALL_LOWERCASE};
use super::{
    free_handle, guard, handle_kind, handle_ref, into_handle, last_error, out_arg, set_last_error,
    with_batch, FfiError, FfiResult, FkStatus,
};
use crate::error::Error;
use crate::parallel;
use crate::text::{self, KeySums, Matches, TextBatch};

/// `fk_job_*` flag: when the result is built faster from a pickle stream than from its view
/// (the library decides: see `FkJobResult`), write the stream in the job.
pub const FK_JOB_PICKLE: u32 = 1;
/// `fk_job_*` flag: the stream gives matches of several fields as tuples (`re.findall`).
pub const FK_JOB_TUPLES: u32 = 2;
/// `fk_job_*` flag: run the call on the calling thread, before the start function returns
/// (no thread is started; `fk_job_wait` then only hands over the result). For a batch
/// that is the whole input, where there is nothing to overlap.
pub const FK_JOB_NOW: u32 = 4;

/// A running or finished job (see `fk_job_findall`). Free it with `fk_job_free`, which
/// waits for it first.
pub struct FkJob {
    _opaque: [u8; 0],
}
handle_kind!(FkJob owns Job, tag 0x4b46_4a4f_4200_0001);

/// What `fk_job_wait` hands over. Exactly one of `stream` and the result handle is set on
/// success: `stream`/`stream_len`, the result as a Python pickle stream (protocol 4, only
/// lists, tuples, dicts, strs and ints; see `fk_matches_pickle`), owned by the job until
/// `fk_job_free`; or the result handle (`matches` for findall and emails, `key_sums` for
/// extract_and_aggregate), which the caller now owns and frees with `fk_matches_free` /
/// `fk_key_sums_free`. The handle is handed over by the first successful `fk_job_wait`;
/// later ones give NULL for it.
#[repr(C)]
pub struct FkJobResult {
    pub stream: *const u8,
    pub stream_len: usize,
    pub matches: *mut FkMatches,
    pub key_sums: *mut FkKeySums,
}

/// A job's result before it is handed over (handles as addresses, so the job is `Send`).
enum Output {
    Stream(Vec<u8>),
    Matches(usize),
    KeySums(usize),
    /// Failed, or the handle was handed over.
    Nothing,
}

/// A finished job: the status and message its call ended with, and its result.
struct Outcome {
    status: FkStatus,
    message: String,
    output: Output,
}

enum State {
    Running(JoinHandle<Outcome>),
    Done(Outcome),
}

pub struct Job {
    state: Mutex<State>,
}

impl Job {
    /// The outcome, after waiting for the thread if it still runs. A thread that died
    /// without an outcome (it cannot panic past `guard`) reads as an internal error.
    fn finish(state: &mut State) -> &mut Outcome {
        if let State::Running(_) = state {
            let State::Running(t) = std::mem::replace(
                state,
                State::Done(Outcome {
                    status: FkStatus::Internal,
                    message: "a background job's thread ended without a result".into(),
                    output: Output::Nothing,
                }),
            ) else {
                unreachable!()
            };
            if let Ok(outcome) = t.join() {
                *state = State::Done(outcome);
            }
        }
        match state {
            State::Done(o) => o,
            State::Running(_) => unreachable!("replaced above"),
        }
    }
}

impl Drop for Job {
    /// Waits for the job (it borrows the caller's buffers until it ends), then frees a
    /// result handle nobody took.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        let o = Job::finish(state);
        match std::mem::replace(&mut o.output, Output::Nothing) {
            // SAFETY: addresses `into_handle` returned for these types and never handed over.
            Output::Matches(h) => unsafe { free_handle(h as *mut FkMatches) },
            // SAFETY: as above.
            Output::KeySums(h) => unsafe { free_handle(h as *mut FkKeySums) },
            Output::Stream(_) | Output::Nothing => {}
        }
    }
}

/// What a job's thread may carry: the caller's `FkTexts` pointer and a pinned pattern.
struct Borrowed<T>(T);
// SAFETY: the `FkTexts` and its buffers are read-only to the job and the caller keeps them
// alive and unmodified until the job has ended (the contract of every `fk_job_*` start
// function, enforced by `fk_job_wait`/`fk_job_free` waiting for it); a pinned pattern
// derefs to a `Pattern`, which is `Sync` (every kernel shares it between threads), and
// unpinning it only takes the registry's lock, from any thread.
unsafe impl<T> Send for Borrowed<T> {}

/// The result of a kernel as a job's output: the stream when `flags` ask for it and it
/// pays (the rule lives in `text::matches_stream` / `text::key_sums_stream`), else a handle.
fn matches_output(m: Matches, flags: u32) -> Output {
    if flags & FK_JOB_PICKLE != 0 {
        if let Some(s) = text::matches_stream(&m, flags & FK_JOB_TUPLES != 0) {
            return Output::Stream(s);
        }
    }
    Output::Matches(into_handle::<FkMatches>(m) as usize)
}

fn key_sums_output(r: KeySums, flags: u32) -> Output {
    if flags & FK_JOB_PICKLE != 0 {
        if let Some(s) = text::key_sums_stream(&r) {
            return Output::Stream(s);
        }
    }
    Output::KeySums(into_handle::<FkKeySums>(r) as usize)
}

/// Start `work` as a job into `*out`: on a new thread limited to `threads` workers (0: no
/// limit), or at once on this one with `FK_JOB_NOW`.
fn start(
    flags: u32,
    threads: usize,
    out: *mut *mut FkJob,
    work: impl FnOnce() -> FfiResult<Output> + Send + 'static,
) -> FfiResult<()> {
    // SAFETY: NULL and alignment are checked; validity for one write is the caller's contract.
    let out = unsafe { out_arg(out, "out") }?;
    if flags & !(FK_JOB_PICKLE | FK_JOB_TUPLES | FK_JOB_NOW) != 0 {
        return Err(Error::invalid(format!("unknown job flags {flags:#x}")).into());
    }
    parallel::check_threads(threads)?;
    let body = move |threads: usize| {
        let _ = parallel::set_local_threads(threads); // checked above
        let mut output = Output::Nothing;
        let status = guard(|| {
            output = work()?;
            Ok(())
        });
        let message = if status == FkStatus::Ok {
            String::new()
        } else {
            last_error()
        };
        Outcome {
            status,
            message,
            output,
        }
    };
    let state = if flags & FK_JOB_NOW != 0 {
        // On the calling thread: its own limit stays unless `threads` sets one for the call.
        let local = parallel::local_threads();
        let outcome = body(if threads == 0 { local } else { threads });
        let _ = parallel::set_local_threads(local); // as it was
        set_last_error(""); // the start succeeded: the call's own error is the wait's to report
        State::Done(outcome)
    } else {
        let t = std::thread::Builder::new()
            .name("ferrokern-job".into())
            .spawn(move || body(threads))
            .map_err(|e| {
                Error::new(
                    crate::error::ErrorKind::OutOfMemory,
                    format!("cannot start a job thread: {e}"),
                )
            })?;
        State::Running(t)
    };
    *out = into_handle::<FkJob>(Job {
        state: Mutex::new(state),
    });
    Ok(())
}

/// Start a job that runs `kernel` on the caller's batch `texts` (see [`start`]); the one
/// place a job reads the caller's `FkTexts`.
fn start_on_batch(
    texts: *const FkTexts,
    flags: u32,
    threads: usize,
    out: *mut *mut FkJob,
    kernel: impl FnOnce(&TextBatch) -> crate::error::Result<Output> + Send + 'static,
) -> FfiResult<()> {
    let t = Borrowed(texts);
    start(flags, threads, out, move || {
        let t = t;
        // SAFETY: the start functions' contract: `texts` and its buffers stay valid and
        // unmodified until the job has ended (`fk_job_wait`/`fk_job_free` wait for it).
        Ok(unsafe { with_batch(t.0, kernel) }?)
    })
}

/// Start `fk_findall(pattern, texts, options)` as a job into `*out` (free it with
/// `fk_job_free`; its result comes from `fk_job_wait`). `flags`: `FK_JOB_PICKLE`,
/// `FK_JOB_TUPLES`, `FK_JOB_NOW`. `threads`: at most that many worker threads for the job
/// (0: the library's count; with `FK_JOB_NOW`, the calling thread's own limit), as
/// `fk_set_local_threads` for the job's thread. Errors of the
/// call itself (a bad batch, invalid UTF-8, a NUL in a NUL-separated batch) come from
/// `fk_job_wait`; these only refuse bad arguments (`out`, a dead pattern, unknown flags, a
/// thread count past the limit) or a thread that cannot start.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is
/// an error, a freed or foreign one is FK_STATUS_INVALID_HANDLE; the job pins it, so a free
/// meanwhile takes effect when the job ends); `texts` must be NULL or point to an `FkTexts`
/// whose `data` and `offsets` are readable for the lengths it states, and all of it must stay
/// valid and unmodified until `fk_job_wait` or `fk_job_free` of this job returns; `out` must
/// be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_job_findall(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    options: u32,
    flags: u32,
    threads: usize,
    out: *mut *mut FkJob,
) -> FkStatus {
    guard(|| {
        if options & !FK_FINDALL_LOWERCASE != 0 {
            return Err(Error::invalid(format!("unknown findall options {options:#x}")).into());
        }
        // SAFETY: any pointer value is accepted; only a registered handle is dereferenced.
        let p = Borrowed(unsafe { handle_ref::<'static, FkPattern>(pattern) }?);
        let lower = options & FK_FINDALL_LOWERCASE != 0;
        start_on_batch(texts, flags, threads, out, move |b| {
            let p = p;
            Ok(matches_output(p.0.findall(b, lower)?, flags))
        })
    })
}

/// Start `fk_extract_emails(texts)` as a job, as `fk_job_findall` (without a pattern).
///
/// # Safety
/// As `fk_job_findall`: `texts` must be NULL or point to an `FkTexts` whose `data` and
/// `offsets` are readable for the lengths it states, all of it valid and unmodified until
/// `fk_job_wait` or `fk_job_free` of this job returns; `out` must be NULL or valid for
/// writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_job_extract_emails(
    texts: *const FkTexts,
    flags: u32,
    threads: usize,
    out: *mut *mut FkJob,
) -> FkStatus {
    guard(|| {
        start_on_batch(texts, flags, threads, out, move |b| {
            Ok(matches_output(text::extract_emails(b)?, flags))
        })
    })
}

/// Start `fk_extract_and_aggregate(texts, max_digits)` as a job, as `fk_job_findall`
/// (`FK_JOB_TUPLES` has no effect; a result with a sum past 64 bits comes as a handle).
///
/// # Safety
/// As `fk_job_extract_emails`.
#[no_mangle]
pub unsafe extern "C" fn fk_job_extract_and_aggregate(
    texts: *const FkTexts,
    max_digits: usize,
    flags: u32,
    threads: usize,
    out: *mut *mut FkJob,
) -> FkStatus {
    guard(|| {
        start_on_batch(texts, flags, threads, out, move |b| {
            Ok(key_sums_output(
                text::extract_and_aggregate(b, max_digits)?,
                flags,
            ))
        })
    })
}

/// Start `fk_sum_by_key(pattern, texts, max_digits)` as a job, as `fk_job_findall`
/// (`FK_JOB_TUPLES` has no effect; a result with a sum past 64 bits comes as a handle).
///
/// # Safety
/// As `fk_job_findall`.
#[no_mangle]
pub unsafe extern "C" fn fk_job_sum_by_key(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    max_digits: usize,
    flags: u32,
    threads: usize,
    out: *mut *mut FkJob,
) -> FkStatus {
    guard(|| {
        // SAFETY: any pointer value is accepted; only a registered handle is dereferenced.
        let p = Borrowed(unsafe { handle_ref::<'static, FkPattern>(pattern) }?);
        start_on_batch(texts, flags, threads, out, move |b| {
            let p = p;
            Ok(key_sums_output(p.0.sum_by_key(b, max_digits)?, flags))
        })
    })
}

/// Wait for `job` to end and fill `*result` (see `FkJobResult`). Returns the status of the
/// job's call, with its message (`fk_last_error_message` on this thread), as the call made
/// directly would have; every wait of the same job returns it again. On an error `*result`
/// is all NULL.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `job` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `result` must be NULL or valid
/// for writing one `FkJobResult`.
#[no_mangle]
pub unsafe extern "C" fn fk_job_wait(job: *mut FkJob, result: *mut FkJobResult) -> FkStatus {
    guard(|| {
        // SAFETY: NULL and alignment are checked; validity is the caller's contract.
        let result = unsafe { out_arg(result, "result") }?;
        *result = FkJobResult {
            stream: std::ptr::null(),
            stream_len: 0,
            matches: std::ptr::null_mut(),
            key_sums: std::ptr::null_mut(),
        };
        // SAFETY: any pointer value is accepted; only a registered handle is dereferenced.
        let j = unsafe { handle_ref(job as *const FkJob) }?;
        let mut state = j.state.lock().unwrap_or_else(|e| e.into_inner());
        let o = Job::finish(&mut state);
        if o.status != FkStatus::Ok {
            return Err(FfiError::Relay(o.status, o.message.clone()));
        }
        match &mut o.output {
            Output::Stream(s) => (result.stream, result.stream_len) = (s.as_ptr(), s.len()),
            Output::Matches(h) => result.matches = *h as *mut FkMatches,
            Output::KeySums(h) => result.key_sums = *h as *mut FkKeySums,
            Output::Nothing => {}
        }
        if matches!(o.output, Output::Matches(_) | Output::KeySums(_)) {
            o.output = Output::Nothing; // handed over: the caller frees it
        }
        Ok(())
    })
}

/// Free a job, waiting for it first if it still runs (it reads the caller's buffers until
/// it ends); a result handle no `fk_job_wait` took is freed with it, and the stream goes
/// too. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `job` may be any value: NULL, a freed handle and a pointer this
/// library did not return are no-ops. A job that a running `fk_job_wait` is using (from
/// another thread) is freed when that call returns; calls made after this one fail with
/// `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_job_free(job: *mut FkJob) {
    // SAFETY: any pointer value is accepted; only a registered handle is freed.
    unsafe { free_handle(job) };
}
