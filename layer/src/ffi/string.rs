// SPDX-License-Identifier: GPL-2.0-or-later
//! `GString`: a string in glib memory, as QAPI structs and events hold them.

#[allow(unused_imports)]
use super::*;

/// A NUL-terminated string allocated by glib, as QAPI structs and events hold them;
/// QEMU frees the ones it is given with `g_free`. It keeps the whole text it was made
/// from, NUL bytes included: handed over with one, it is refused ([`Ret::fault`]), not
/// cut where C would read its end. Named as glib-rs names glib's strings: `GString` is
/// the owned one (this); a borrowed one is a `&str`.
pub struct GString {
    ptr: *mut c_char,
    /// The text's length in bytes, without the terminating NUL.
    len: usize,
}

// SAFETY: a GString owns its allocation exclusively; glib's allocator is thread-safe.
unsafe impl Send for GString {}

impl GString {
    /// A copy of `s`, all of it.
    pub fn new(s: &str) -> GString {
        let len = s.len();
        // SAFETY: g_malloc never returns NULL (glib aborts when memory runs out); the
        // allocation has room for `len` bytes and the NUL; `s` is valid for `len` bytes
        // and cannot overlap a new allocation.
        let ptr = unsafe {
            let p: *mut u8 = bindings::g_malloc(len.wrapping_add(1) as _).cast();
            ptr::copy_nonoverlapping(s.as_ptr(), p, len);
            p.add(len).write(0);
            p
        };
        GString { ptr: ptr.cast(), len }
    }

    /// The text, all of it (a NUL byte included, where C would stop reading).
    pub fn as_str(&self) -> &str {
        if self.ptr.is_null() {
            return "";
        }
        // SAFETY: `ptr` holds `len` initialised bytes we own, alive while `self` is.
        let bytes = unsafe { core::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) };
        // Made from a &str or a String, or checked as UTF-8 when taken from QEMU; the
        // fallback is not taken.
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// Takes ownership of `ptr`.
    ///
    /// # Safety
    /// `ptr` comes from glib's allocator, holds `len` bytes of UTF-8 and then a NUL, and
    /// is not used again but through the returned value.
    pub(super) unsafe fn from_raw(ptr: *mut c_char, len: usize) -> GString {
        GString { ptr, len }
    }

    /// The pointer, still owned by `self`.
    pub fn as_ptr(&self) -> *const c_char {
        self.ptr
    }

    /// Gives up ownership: QEMU frees the pointer with `g_free`.
    pub fn into_raw(self) -> *mut c_char {
        let p = self.ptr;
        core::mem::forget(self);
        p
    }
}

impl From<String> for GString {
    /// `s` itself, without a copy: its buffer is already glib's (the layer's global allocator is glib's); a NUL
    /// is appended (which may grow the buffer in place).
    fn from(s: String) -> GString {
        let len = s.len();
        let mut bytes = core::mem::ManuallyDrop::new(s.into_bytes());
        bytes.push(0);
        // The buffer came from the global allocator, `GlibAlloc` (align 1, so
        // `g_try_malloc`/`g_try_realloc`), and is NUL-terminated: g_free releases it.
        GString { ptr: bytes.as_mut_ptr().cast(), len }
    }
}

impl Drop for GString {
    fn drop(&mut self) {
        // SAFETY: the pointer came from glib's allocator and is freed once, here.
        unsafe { bindings::g_free(self.ptr.cast()) }
    }
}

impl fmt::Debug for GString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
