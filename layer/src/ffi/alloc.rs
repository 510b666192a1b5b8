// SPDX-License-Identifier: GPL-2.0-or-later
//! Rust's heap on glib's allocator (`GlibAlloc`).

#[allow(unused_imports)]
use super::*;

/// The alignment glibc's `malloc` (which glib's `g_malloc` is, since glib 2.46) gives
/// every block on the 64-bit hosts QEMU supports.
const MALLOC_ALIGN: usize = 16;

/// Rust's global allocator in a command library: glib's (`g_try_malloc`,
/// `g_try_realloc`, `g_free`), so memory a command builds with `String` or `Vec` is
/// memory QEMU can own and free. Layouts aligned beyond what `malloc` gives (none of
/// QEMU's types are) take `posix_memalign` and `free`. A failed allocation returns
/// NULL, so `try_reserve` reports it; elsewhere Rust's handler aborts the process, as
/// `g_malloc` does in QEMU's C.
pub struct GlibAlloc;

// SAFETY: every block comes from malloc (through glib or posix_memalign), sized and
// aligned for its layout, and goes back to free (g_free is free); NULL reports failure.
unsafe impl GlobalAlloc for GlibAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: g_try_malloc has no preconditions; the size is non-zero (the
            // GlobalAlloc contract) and the block is aligned to MALLOC_ALIGN.
            unsafe { bindings::g_try_malloc(layout.size() as _) }.cast()
        } else {
            let mut p = ptr::null_mut();
            // SAFETY: the alignment is a power of two (Layout's) and a multiple of
            // sizeof(void *) (it exceeds 16); `p` is written only on success.
            let failed = unsafe { bindings::posix_memalign(&mut p, layout.align() as _, layout.size() as _) };
            if failed == 0 { p.cast() } else { ptr::null_mut() }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: as in `alloc`.
            unsafe { bindings::g_try_malloc0(layout.size() as _) }.cast()
        } else {
            // SAFETY: forwarded from our caller's contract.
            let p = unsafe { self.alloc(layout) };
            if !p.is_null() {
                // SAFETY: `p` is a fresh block of `layout.size()` bytes.
                unsafe { ptr::write_bytes(p, 0, layout.size()) };
            }
            p
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, _layout: Layout) {
        // SAFETY: `p` came from `alloc`/`realloc` (the caller's contract): a malloc block.
        unsafe { bindings::g_free(p.cast()) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `p` is a live block of ours (the caller's contract); g_try_realloc
            // keeps its contents, returns NULL and leaves it alone on failure.
            unsafe { bindings::g_try_realloc(p.cast(), new_size as _) }.cast()
        } else {
            // SAFETY: a layout of the new size and the same alignment is valid (the
            // caller's contract); copy what both blocks hold, then free the old one.
            unsafe {
                let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                let q = self.alloc(new_layout);
                if !q.is_null() {
                    ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                    self.dealloc(p, layout);
                }
                q
            }
        }
    }
}
