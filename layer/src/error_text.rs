// SPDX-License-Identifier: GPL-2.0-or-later
//! A fixed-size, NUL-terminated text buffer for error messages.
//!
//! The static library has no allocator; an error's `Display` output is formatted into
//! this buffer and handed to QEMU's `error_setg_internal` as the argument of a `"%s"`
//! format. Text that does not fit is cut at a character boundary and ends with "...".

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

    fn push(&mut self, s: &str) -> bool {
        let end = self.len + s.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) if end < N => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
                true
            }
            _ => false,
        }
    }
}

impl<const N: usize> Default for ErrorText<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for ErrorText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.truncated || self.push(s) {
            return Ok(());
        }
        // Keep as much of `s` as fits in front of the ellipsis, cut at a char boundary.
        let room = (N - 1).saturating_sub(self.len + ELLIPSIS.len());
        let mut cut = room.min(s.len());
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.push(s.get(..cut).unwrap_or(""));
        self.push(ELLIPSIS);
        self.truncated = true;
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
