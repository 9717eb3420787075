//! Opaque handles, and the one rule for every handle type: a handle is live exactly while
//! its address is in the registry below, and nothing is read through a pointer the
//! registry does not know.
//!
//! - **Checking a handle never reads the memory it points to.** Its type tag lives in the
//!   registry (a side table keyed by address), not in the allocation, so a freed pointer, a
//!   pointer of another handle type or a wild pointer such as `0x10` is answered with
//!   `FK_STATUS_INVALID_HANDLE` without touching it (valgrind stays quiet).
//! - **A handle in use is pinned.** [`handle_ref`] returns a [`Pinned`] borrow that counts as
//!   a user of the handle until the call ends. A `fk_*_free` that arrives meanwhile (from a
//!   progress callback, or from another thread) does not free: it marks the handle dead, so
//!   every later call fails with `FK_STATUS_INVALID_HANDLE`, and the last running call frees
//!   it when it returns. This is the deferral Python's wrapper already does, now for C too.
//! - **Double free, wild free and a free of the wrong type are no-ops.** An address the
//!   registry does not hold (or holds with another tag) is left alone: leaking is the only
//!   safe thing to do with a pointer we did not hand out.
//!
//! Addresses cannot collide: an address stays in the registry until its allocation is freed,
//! so the allocator cannot hand the same address to a new handle meanwhile.
//!
//! Fork: the registry lock is taken around `fork()` (`pthread_atfork`), so a child forked
//! while another thread was inside a registry update never inherits a held lock.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use super::{null_err, FfiResult, HandleError};
use crate::shared::hash::{FxBuild, FxHashMap};

/// Implemented by each opaque `Fk*` handle type (a zero-sized marker the header declares as
/// an incomplete struct) to name what it owns.
pub(crate) trait HandleKind {
    type Inner;
    const TAG: u64;
    const NAME: &'static str;
}

/// What the registry knows of one live handle.
struct Entry {
    /// The handle type's `TAG`.
    tag: u64,
    /// Calls currently using the handle.
    pins: u32,
    /// Freed by the caller while pinned: no new call may use it; the last pin frees it.
    doomed: bool,
}

/// Live handles by address.
///
/// std's mutex (a plain futex word on Linux), not a parking_lot one: a child of `fork()` must
/// be able to release the copy its forking thread holds, and parking_lot's eventual fairness
/// may hand a contended lock straight to a parked waiter, which in the child is a thread
/// that no longer exists (the child then deadlocks on its first handle call).
static REGISTRY: Mutex<FxHashMap<usize, Entry>> = Mutex::new(FxHashMap::with_hasher(FxBuild::new()));
static ATFORK: Once = Once::new();

thread_local! {
    /// The registry guard held across a `fork()` by the forking thread (prepare → parent /
    /// child handlers all run on that thread, and the child's copy of it is that thread).
    static HELD_ACROSS_FORK: RefCell<Option<MutexGuard<'static, FxHashMap<usize, Entry>>>> =
        const { RefCell::new(None) };
}

extern "C" fn atfork_prepare() {
    let guard = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    HELD_ACROSS_FORK.with(|h| *h.borrow_mut() = Some(guard));
}

extern "C" fn atfork_release() {
    // Dropping the guard unlocks: in the child no other thread exists to wake, so the futex
    // word simply becomes 0 again.
    HELD_ACROSS_FORK.with(|h| drop(h.borrow_mut().take()));
}

/// The registry, locked (registering the fork handlers on first use).
fn registry() -> MutexGuard<'static, FxHashMap<usize, Entry>> {
    ATFORK.call_once(|| {
        // SAFETY: plain function pointers that only lock/unlock a static; registering them
        // cannot fail in a way that matters (ENOMEM: forks just go unprotected).
        unsafe { libc::pthread_atfork(Some(atfork_prepare), Some(atfork_release), Some(atfork_release)) };
    });
    // A panic while the lock was held cannot leave the map half-updated in a way that
    // matters (each update is one insert/remove/field write): keep using it.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A borrow of what a handle owns, pinning the handle until it is dropped (the end of the
/// call). Dropping the last pin of a handle freed meanwhile frees it.
pub(crate) struct Pinned<'a, H: HandleKind> {
    inner: *const H::Inner,
    _life: PhantomData<&'a H::Inner>,
}

impl<H: HandleKind> Deref for Pinned<'_, H> {
    type Target = H::Inner;
    fn deref(&self) -> &H::Inner {
        // SAFETY: pinned, so the registry keeps the allocation alive until `drop`.
        unsafe { &*self.inner }
    }
}

impl<H: HandleKind> Drop for Pinned<'_, H> {
    fn drop(&mut self) {
        let addr = self.inner as usize;
        let free = {
            let mut reg = registry();
            match reg.get_mut(&addr) {
                Some(e) => {
                    e.pins -= 1;
                    let free = e.pins == 0 && e.doomed;
                    if free {
                        reg.remove(&addr);
                    }
                    free
                }
                None => false, // unreachable: a pinned handle stays registered
            }
        };
        if free {
            // SAFETY: just removed from the registry with no pins left: ours to drop.
            unsafe { drop_inner::<H>(self.inner as *mut H::Inner) };
        }
    }
}

/// Borrow what a handle owns, after checking in the registry that it is a live handle of
/// type `H`; the handle stays pinned (a free is deferred) until the result is dropped.
///
/// # Safety
/// None beyond the type system: any pointer value is accepted (NULL, freed, wild); only a
/// registered one is dereferenced. Marked `unsafe` to keep the call sites' contract visible.
pub(crate) unsafe fn handle_ref<'a, H: HandleKind>(p: *const H) -> FfiResult<Pinned<'a, H>> {
    if p.is_null() {
        return Err(null_err(H::NAME).into());
    }
    let mut reg = registry();
    match reg.get_mut(&(p as usize)) {
        Some(e) if e.tag == H::TAG && !e.doomed => {
            e.pins += 1;
            Ok(Pinned {
                inner: p as *const H::Inner,
                _life: PhantomData,
            })
        }
        _ => Err(HandleError(format!(
            "{} handle is not live (already freed, or not a {})",
            H::NAME,
            H::NAME
        ))
        .into()),
    }
}

/// Box a value into a handle pointer and register it.
pub(crate) fn into_handle<H: HandleKind>(v: H::Inner) -> *mut H {
    // A zero-sized value would get a dangling, shared address: every handle must own bytes.
    const { assert!(std::mem::size_of::<H::Inner>() > 0) };
    let p = Box::into_raw(Box::new(v));
    registry().insert(
        p as usize,
        Entry {
            tag: H::TAG,
            pins: 0,
            doomed: false,
        },
    );
    p as *mut H
}

/// Free a handle: NULL, an unknown address (double free, wild pointer) and a handle of
/// another type are no-ops; a handle in use by a running call is freed when that call
/// returns (and refused to any call that starts meanwhile).
///
/// # Safety
/// None beyond the type system, as [`handle_ref`].
pub(crate) unsafe fn free_handle<H: HandleKind>(p: *mut H) {
    if p.is_null() {
        return;
    }
    let addr = p as usize;
    {
        let mut reg = registry();
        match reg.get_mut(&addr) {
            Some(e) if e.tag == H::TAG && !e.doomed => {
                if e.pins > 0 {
                    e.doomed = true;
                    return;
                }
                reg.remove(&addr);
            }
            _ => return,
        }
    }
    // SAFETY: it was registered with `H`'s tag and unpinned, and we removed it: ours to drop.
    unsafe { drop_inner::<H>(p as *mut H::Inner) };
}

/// Drop a handle's value (outside the registry lock: a report's destructor flushes a file).
///
/// # Safety
/// `p` came from `into_handle::<H>` and was just removed from the registry.
unsafe fn drop_inner<H: HandleKind>(p: *mut H::Inner) {
    // SAFETY: the caller's contract: it is the `Box` that `into_handle` leaked.
    let b = unsafe { Box::from_raw(p) };
    // A destructor that panicked (say, one that flushes a file) must not unwind into C.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
}

/// Take what a handle owns out of it and free the handle: the caller owns the value from
/// now on (a consuming export, e.g. to Arrow). A handle in use by a running call cannot be
/// taken (its value is borrowed): that is refused, and the handle stays as it was.
///
/// # Safety
/// None beyond the type system, as [`handle_ref`].
pub(crate) unsafe fn take_handle<H: HandleKind>(p: *mut H) -> FfiResult<Box<H::Inner>> {
    if p.is_null() {
        return Err(null_err(H::NAME).into());
    }
    let addr = p as usize;
    {
        let mut reg = registry();
        match reg.get(&addr) {
            Some(e) if e.tag == H::TAG && !e.doomed && e.pins == 0 => {
                reg.remove(&addr);
            }
            Some(e) if e.tag == H::TAG && !e.doomed => {
                return Err(HandleError(format!("{} handle is in use by another call", H::NAME)).into());
            }
            _ => {
                return Err(HandleError(format!(
                    "{} handle is not live (already freed, or not a {})",
                    H::NAME,
                    H::NAME
                ))
                .into())
            }
        }
    }
    // SAFETY: registered with `H`'s tag, unpinned, and just removed from the registry: it is
    // the `Box` that `into_handle` leaked, and nobody else can reach it now.
    Ok(unsafe { Box::from_raw(p as *mut H::Inner) })
}

/// Tie an opaque handle type (written out as a plain struct, so cbindgen sees it) to what
/// it owns.
macro_rules! handle_kind {
    ($name:ident owns $inner:ty, tag $tag:expr) => {
        impl $crate::ffi::HandleKind for $name {
            type Inner = $inner;
            const TAG: u64 = $tag;
            const NAME: &'static str = stringify!($name);
        }
    };
}
pub(crate) use handle_kind;

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static DROPS: AtomicUsize = AtomicUsize::new(0);
    /// Non-zero-sized; counts its drops.
    struct Counted(u64);
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    struct FkTest;
    struct FkOther;
    handle_kind!(FkTest owns Counted, tag 1);
    handle_kind!(FkOther owns u64, tag 2);

    fn pin<H: HandleKind>(p: *const H) -> Option<Pinned<'static, H>> {
        // SAFETY: the registry accepts any pointer value and dereferences only its own.
        unsafe { handle_ref(p) }.ok()
    }
    fn free<H: HandleKind>(p: *mut H) {
        // SAFETY: as above.
        unsafe { free_handle(p) }
    }

    #[test]
    fn a_free_during_a_call_is_deferred_and_misuse_is_refused() {
        let before = DROPS.load(Ordering::SeqCst);
        let h = into_handle::<FkTest>(Counted(7));
        let first = pin(h).expect("live");
        let second = pin(h).expect("two calls may share it");
        assert!(pin(h as *const FkOther).is_none(), "wrong type");
        free(h as *mut FkOther); // wrong type: ignored
        free(h);
        free(h); // a second free while pinned: no-op
        assert!(pin(h).is_none(), "freed: no new call may use it");
        assert_eq!(first.0, 7, "the running call still sees it");
        drop(first);
        assert_eq!(DROPS.load(Ordering::SeqCst), before, "one call still runs");
        drop(second);
        assert_eq!(DROPS.load(Ordering::SeqCst), before + 1, "the last call freed it");
        free(h); // gone: no-op
        assert_eq!(DROPS.load(Ordering::SeqCst), before + 1);
        assert!(pin(0x10 as *const FkTest).is_none(), "wild pointer");
        free(0x10 as *mut FkTest);
        let plain = into_handle::<FkTest>(Counted(1));
        free(plain);
        assert_eq!(
            DROPS.load(Ordering::SeqCst),
            before + 2,
            "an unpinned handle is freed at once"
        );
    }
}
