// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's big lock: whether it is held, and `BqlRefCell`, a command's state behind it.

#[allow(unused_imports)]
use super::*;

/// Whether the calling thread holds QEMU's big lock (`bql_locked()`; QEMU 7.2 calls it
/// `qemu_mutex_iothread_locked()`).
pub(super) fn bql_held() -> bool {
    // SAFETY: the function reads a thread-local flag; it has no preconditions.
    #[cfg(qemu_bql_locked)]
    let held = unsafe { bindings::bql_locked() };
    // SAFETY: as above.
    #[cfg(not(qemu_bql_locked))]
    let held = unsafe { bindings::qemu_mutex_iothread_locked() };
    held
}

/// Why a [`BqlRefCell`] refused access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BqlError {
    /// The calling thread does not hold the BQL (an `allow-oob` command, or any thread but
    /// the main loop's).
    NotLocked,
    /// The value is already borrowed further up this call (a re-entrant use).
    Borrowed,
}

impl fmt::Display for BqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BqlError::NotLocked => "The command's state was used without QEMU's big lock (BQL) held",
            BqlError::Borrowed => "The command's state is already in use further up this call",
        })
    }
}

impl From<BqlError> for CommandError {
    #[track_caller]
    fn from(e: BqlError) -> CommandError {
        CommandError::new(e)
    }
}

/// State shared by a command's calls, as QEMU's own Rust keeps it (`BqlRefCell`,
/// rust/bql): every access checks that the calling thread holds the BQL, under which
/// QEMU runs every monitor command but `allow-oob` ones, and that the value is not
/// already borrowed. A refused access is an error the command returns, not a crash. It
/// is a borrow flag, not a lock: nothing ever waits on it.
pub struct BqlRefCell<T> {
    borrowed: Cell<bool>,
    value: UnsafeCell<T>,
}

// SAFETY: every access goes through `borrow_mut`, which checks that the calling thread
// holds the BQL; so at most one thread at a time touches `borrowed` and `value`, and the
// flag keeps a second `&mut` from being made while one lives. `T: Send` because the
// thread holding the BQL changes from one access to the next.
unsafe impl<T: Send> Sync for BqlRefCell<T> {}

impl<T> BqlRefCell<T> {
    pub const fn new(value: T) -> Self {
        BqlRefCell { borrowed: Cell::new(false), value: UnsafeCell::new(value) }
    }

    /// The value, exclusively, until the guard is dropped; refused without the BQL or
    /// while another guard lives.
    pub fn borrow_mut(&self) -> Result<BqlRefMut<'_, T>, BqlError> {
        if !bql_held() {
            return Err(BqlError::NotLocked);
        }
        if self.borrowed.replace(true) {
            return Err(BqlError::Borrowed);
        }
        Ok(BqlRefMut { cell: self, _not_send: PhantomData })
    }
}

/// Exclusive access to a [`BqlRefCell`]'s value. It stays on the thread that holds the
/// BQL (it is neither `Send` nor `Sync`).
pub struct BqlRefMut<'a, T> {
    cell: &'a BqlRefCell<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for BqlRefMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only borrow of the value (the flag) and the BQL
        // keeps other threads out (`borrow_mut`).
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for BqlRefMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only live reference.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for BqlRefMut<'_, T> {
    fn drop(&mut self) {
        self.cell.borrowed.set(false);
    }
}
