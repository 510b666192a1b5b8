// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's big lock: the call's proof that it is held (`Bql`), and `BqlRefCell`, a
//! command's state behind it.
//!
//! This file is also compiled alone for the layer's unit tests (`cargo test`, no QEMU),
//! with the lock mocked: [`bql_held`] then reads a flag the tests set.

use core::cell::RefCell;
use core::fmt;
use core::marker::PhantomData;

use crate::error::CommandError;

/// Whether the calling thread holds QEMU's big lock (`bql_locked()`; QEMU 7.2 calls it
/// `qemu_mutex_iothread_locked()`).
#[cfg(not(test))]
pub(crate) fn bql_held() -> bool {
    use crate::sys as bindings;
    // SAFETY: the function reads a thread-local flag; it has no preconditions.
    #[cfg(qemu_bql_locked)]
    let held = unsafe { bindings::bql_locked() };
    // SAFETY: as above.
    #[cfg(not(qemu_bql_locked))]
    let held = unsafe { bindings::qemu_mutex_iothread_locked() };
    held
}

#[cfg(test)]
thread_local! {
    /// The mocked lock: whether this test thread "holds" it.
    static HELD: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// The mocked lock of the unit tests.
#[cfg(test)]
pub(crate) fn bql_held() -> bool {
    HELD.with(core::cell::Cell::get)
}

/// Proof that the calling thread holds QEMU's big lock (the BQL) for the call `'call`.
///
/// The generated handler of every command that runs under the BQL (every QMP command
/// but an `allow-oob` one, every HMP command) makes one and passes it to the command
/// function when that function asks for it (a first parameter of type `Bql<'_>`, after
/// `mon` in an HMP handler). It is `Copy`, neither `Send` nor `Sync`, and cannot outlive
/// the call; command code cannot make one (its files forbid `unsafe`). What only the
/// lock's holder may do takes it: [`BqlRefCell::borrow`] and
/// [`borrow_mut`](BqlRefCell::borrow_mut), [`print_line`](super::print_line), and every [`vm`](super::vm)
/// function. An `allow-oob` command gets none: asking for one is refused by the build
/// (naming the command), and without it none of those can be called — a compile error.
#[derive(Clone, Copy)]
pub struct Bql<'call> {
    _call: PhantomData<&'call ()>,
    /// Neither `Send` nor `Sync`: the proof holds on this thread only.
    _here: PhantomData<*mut ()>,
}

impl<'call> Bql<'call> {
    /// The token for a call that lasts as long as the borrow of `call` (the handler's
    /// scope).
    ///
    /// # Safety
    /// The calling thread holds the BQL for all of `'call`: QEMU calls the handler under
    /// it (a QMP command without `'allow-oob'`, or an HMP command), and nothing the
    /// command can reach releases it.
    pub unsafe fn assume_held<S: ?Sized>(_call: &'call S) -> Bql<'call> {
        debug_assert!(bql_held(), "a Bql token made without the BQL held");
        Bql { _call: PhantomData, _here: PhantomData }
    }
}

impl fmt::Debug for Bql<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bql")
    }
}

/// Why a [`BqlRefCell`] refused access: the value is already borrowed further up this
/// call, in a way that conflicts (a re-entrant use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BqlError;

impl fmt::Display for BqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("The command's state is already in use further up this call")
    }
}

impl From<BqlError> for CommandError {
    #[track_caller]
    fn from(e: BqlError) -> CommandError {
        CommandError::new(e)
    }
}

/// State shared by a command's calls, behind the BQL, as QEMU's own Rust keeps it
/// (`BqlRefCell`, rust/bql): a `RefCell` that only a holder of the lock can reach, which
/// it proves with the call's [`Bql`] token. Any number of shared borrows or one exclusive
/// borrow at a time; a conflicting borrow is an error the command returns, not a crash.
/// A borrow cannot outlive the call whose token it took. It is a borrow flag, not a
/// lock: nothing ever waits on it.
pub struct BqlRefCell<T> {
    value: RefCell<T>,
}

// SAFETY: every access goes through `borrow` or `borrow_mut`, which take a `Bql` token,
// made only by a handler QEMU calls under the BQL and valid only on that thread for
// that call; so the RefCell (its flag and its value) is touched by one thread at a time,
// the lock's holder. `T: Send` because that thread changes from one call to the next.
unsafe impl<T: Send> Sync for BqlRefCell<T> {}

/// A shared borrow of a [`BqlRefCell`]'s value (neither `Send` nor `Sync`).
pub type BqlRef<'a, T> = core::cell::Ref<'a, T>;

/// An exclusive borrow of a [`BqlRefCell`]'s value (neither `Send` nor `Sync`).
pub type BqlRefMut<'a, T> = core::cell::RefMut<'a, T>;

impl<T> BqlRefCell<T> {
    /// A cell holding `value`; `const`, for a `static` of a command's state.
    pub const fn new(value: T) -> Self {
        BqlRefCell { value: RefCell::new(value) }
    }

    /// The value, shared, until the guard is dropped (at the latest when the call ends);
    /// refused while an exclusive borrow lives.
    pub fn borrow<'a>(&'a self, _bql: Bql<'a>) -> Result<BqlRef<'a, T>, BqlError> {
        self.value.try_borrow().map_err(|_| BqlError)
    }

    /// The value, exclusively, until the guard is dropped (at the latest when the call
    /// ends); refused while another borrow lives.
    pub fn borrow_mut<'a>(&'a self, _bql: Bql<'a>) -> Result<BqlRefMut<'a, T>, BqlError> {
        self.value.try_borrow_mut().map_err(|_| BqlError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call under the (mocked) lock: its token lives as long as `scope`.
    fn with_lock<R>(f: impl FnOnce(Bql<'_>) -> R) -> R {
        HELD.with(|h| h.set(true));
        let scope = 0u8;
        // SAFETY: the mocked lock is held for the whole of `f`, which `scope` outlives.
        let r = f(unsafe { Bql::assume_held(&scope) });
        HELD.with(|h| h.set(false));
        r
    }

    #[test]
    fn shared_borrows_coexist_and_an_exclusive_one_waits_for_none() {
        let cell = BqlRefCell::new(vec![1, 2]);
        with_lock(|bql| {
            let a = cell.borrow(bql).unwrap();
            let b = cell.borrow(bql).unwrap();
            assert_eq!(a.len() + b.len(), 4);
            assert_eq!(cell.borrow_mut(bql).err(), Some(BqlError), "exclusive while shared");
            drop((a, b));
            cell.borrow_mut(bql).unwrap().push(3);
            let m = cell.borrow_mut(bql).unwrap();
            assert_eq!(cell.borrow(bql).err(), Some(BqlError), "shared while exclusive");
            assert_eq!(cell.borrow_mut(bql).err(), Some(BqlError), "exclusive twice");
            drop(m);
            assert_eq!(*cell.borrow(bql).unwrap(), [1, 2, 3]);
        });
    }

    #[test]
    fn a_refused_borrow_is_an_error_a_command_returns() {
        let cell = BqlRefCell::new(0u8);
        let e = with_lock(|bql| {
            let _kept = cell.borrow_mut(bql).unwrap();
            CommandError::from(cell.borrow_mut(bql).unwrap_err())
        });
        assert!(e.to_string().contains("already in use further up this call"), "{e}");
    }

    #[test]
    fn a_panic_with_a_borrow_gives_it_back() {
        let cell = BqlRefCell::new(1);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_lock(|bql| {
                let _g = cell.borrow_mut(bql).unwrap();
                panic!("in the command");
            })
        }));
        assert!(caught.is_err());
        HELD.with(|h| h.set(false));
        assert_eq!(with_lock(|bql| *cell.borrow(bql).unwrap()), 1);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "a Bql token made without the BQL held")]
    fn a_token_without_the_lock_is_a_bug_debug_builds_catch() {
        let scope = 0u8;
        // SAFETY: deliberately broken (the mocked lock is not held): the debug assertion
        // must catch it before any token exists.
        let _ = unsafe { Bql::assume_held(&scope) };
    }
}
