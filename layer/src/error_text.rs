// SPDX-License-Identifier: GPL-2.0-or-later
//! A fixed-size, NUL-terminated text buffer: text formatted without allocating, for C.
//!
//! The layer uses it for the file name it interns for QEMU's `Error` (a `CommandError`'s
//! own text is a `String`, kept whole); command code may use it for a line of bounded
//! length. Text that does not fit is cut at a character boundary and ends with "...",
//! and an interior NUL ends the C string, so it is for text whose length and contents
//! the writer controls, not for what a client must read whole.

use core::ffi::CStr;
use core::fmt;

/// `N` bytes of storage: at most `N - 1` bytes of text and the terminating NUL.
pub struct ErrorText<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

const ELLIPSIS: &str = "...";

impl<const N: usize> ErrorText<N> {
    /// An empty text.
    pub const fn new() -> Self {
        const { assert!(N > ELLIPSIS.len() + 1, "ErrorText needs room for the ellipsis and NUL") };
        ErrorText { buf: [0; N], len: 0, truncated: false }
    }

    /// The text written so far, as a C string. An interior NUL written by a caller ends
    /// the C string early, as C would read it.
    pub fn as_cstr(&self) -> &CStr {
        // `write_str` keeps `len <= N - 1` and the byte at `len` (and all after it) zero,
        // so there is always a NUL; the fallback is never taken.
        CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"")
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        let bytes = self.buf.get(..self.len).unwrap_or(&[]);
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// Whether text was cut to fit.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl<const N: usize> Default for ErrorText<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The work of `write_str`, for every `N` at once: generic code is compiled into each
/// crate that uses it, and a command crate formats errors too, so the body is kept out
/// of the generic impl (one copy in the archive, not one per crate and size).
#[inline(never)]
fn write_into(buf: &mut [u8], len: &mut usize, truncated: &mut bool, s: &str) {
    fn push(buf: &mut [u8], len: &mut usize, s: &str) -> bool {
        let end = *len + s.len();
        let n = buf.len();
        match buf.get_mut(*len..end) {
            Some(dst) if end < n => {
                dst.copy_from_slice(s.as_bytes());
                *len = end;
                true
            }
            _ => false,
        }
    }
    if *truncated || push(buf, len, s) {
        return;
    }
    // Keep as much of `s` as fits in front of the ellipsis, cut at a char boundary.
    let room = buf.len().saturating_sub(1).saturating_sub(*len + ELLIPSIS.len());
    let mut cut = room.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    push(buf, len, s.get(..cut).unwrap_or(""));
    push(buf, len, ELLIPSIS);
    *truncated = true;
}

impl<const N: usize> fmt::Write for ErrorText<N> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_into(&mut self.buf, &mut self.len, &mut self.truncated, s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn short_text_is_kept_whole_and_nul_terminated() {
        let mut t = ErrorText::<32>::new();
        let (n, what) = (3, "x");
        write!(t, "byte {n} of {what}").unwrap();
        assert_eq!(t.as_str(), "byte 3 of x");
        assert_eq!(t.as_cstr().to_bytes(), b"byte 3 of x");
        assert!(!t.is_truncated());
    }

    #[test]
    fn text_that_fills_the_buffer_exactly_fits() {
        let mut t = ErrorText::<8>::new();
        t.write_str("1234567").unwrap();
        assert_eq!(t.as_str(), "1234567");
        assert!(!t.is_truncated());
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary_with_an_ellipsis() {
        let mut t = ErrorText::<10>::new();
        let euros = "€€€€";
        write!(t, "ab{euros}").unwrap();
        // 9 bytes of room: "ab" + "€" (3 bytes) + "..." = 8; a second "€" would not fit.
        assert_eq!(t.as_str(), "ab€...");
        assert!(t.is_truncated());
        t.write_str("more").unwrap();
        assert_eq!(t.as_cstr().to_str().unwrap(), "ab€...");
    }

    #[test]
    fn interior_nul_ends_the_c_string() {
        let mut t = ErrorText::<16>::new();
        t.write_str("a\0b").unwrap();
        assert_eq!(t.as_cstr().to_bytes(), b"a");
    }
}
