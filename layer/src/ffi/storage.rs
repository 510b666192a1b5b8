// SPDX-License-Identifier: GPL-2.0-or-later
//! A QAPI struct's C storage in glib memory (`g_new0`, `g_unbox`).

#[allow(unused_imports)]
use super::*;

/// A QAPI struct's C storage: zeroed memory from glib's allocator, which the
/// marshaller's `qapi_free_*` visitor releases with `g_free`. Never NULL: g_malloc0
/// aborts when memory runs out (the library itself has no path to `abort`).
pub fn g_new0<T>() -> *mut T {
    // SAFETY: g_malloc0 returns zeroed memory of the size asked for, aligned for any C
    // type.
    unsafe { bindings::g_malloc0(core::mem::size_of::<T>() as _) }.cast()
}

/// The value a struct's C storage holds, moved out, the storage freed: a union's branch,
/// which QEMU's C embeds by value (`u.<branch>`), built as a struct of its own.
///
/// # Safety
/// `p` comes from [`g_new0`] (or `Ret::into_c`), holds a valid `T`, and is not used again.
pub unsafe fn g_unbox<T>(p: *mut T) -> T {
    // SAFETY: `p` is valid and holds a `T` (our contract); the value moves out whole, so
    // what it points to is now owned by the returned value alone.
    let value = unsafe { p.read() };
    // SAFETY: `p` came from glib's allocator (our contract) and is not used again.
    unsafe { bindings::g_free(p.cast()) };
    value
}
