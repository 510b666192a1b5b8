// SPDX-License-Identifier: GPL-2.0-or-later
//! Output: the human monitor (`Monitor`), QEMU's stdout (`print_line`), qemu-ga's log (`log_message`).

#[allow(unused_imports)]
use super::*;

/// The human monitor that called an HMP command; `write!` to it prints there.
pub struct Monitor(*mut bindings::Monitor);

impl Monitor {
    /// # Safety
    /// `mon` is the calling monitor, valid for the call.
    pub unsafe fn new(mon: *mut bindings::Monitor) -> Monitor {
        Monitor(mon)
    }
}

impl Write for Monitor {
    /// Writes `s`; a NUL byte in it, where the monitor's C string would end and lose the
    /// rest, is written as the two characters `\0` (as in an error's text).
    fn write_str(&mut self, s: &str) -> fmt::Result {
        crate::error::escaping_nul(s, |piece| self.write_text(piece));
        Ok(())
    }
}

impl Monitor {
    /// Writes `s`, which holds no NUL byte.
    fn write_text(&mut self, s: &str) {
        for chunk in s.as_bytes().chunks(c_int::MAX as usize) {
            // SAFETY: the monitor is valid for the call (`new`'s contract); "%.*s" reads
            // exactly `len` bytes of `chunk`, which need no NUL.
            unsafe {
                bindings::monitor_printf(self.0, c"%.*s".as_ptr(), chunk.len() as c_int, chunk.as_ptr())
            };
        }
    }
}

/// Why a line could not be written: the C library's text for `errno`.
#[derive(Debug, Clone, Copy)]
pub struct WriteError(&'static str);

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Writes `text` and a newline to C's stdout, the stream QEMU's own `printf`s use, as
/// one locked, flushed unit: lines from concurrent monitors never interleave, and the
/// line is written before the command replies. On failure (disk full, reader gone:
/// QEMU ignores SIGPIPE) the unwritten bytes are discarded and the stream's error flag
/// cleared, so later lines stay whole and writable.
///
/// It takes the call's [`Bql`]: an out-of-band command (the monitor's I/O thread, no
/// BQL) has none, so it cannot block every monitor on the stream.
pub fn print_line(_bql: Bql<'_>, text: &str) -> Result<(), WriteError> {
    // SAFETY: glibc's `stdout` is initialised before main and never reassigned by QEMU.
    let out = unsafe { bindings::stdout };
    // SAFETY: `out` is a valid stream; the lock is released below on every path.
    unsafe { bindings::flockfile(out) };
    // `size_t` is as wide as `usize` on every target QEMU supports.
    let len = text.len() as _;
    // SAFETY: `text` is valid for `len` bytes; `out` is valid and locked by us, so the
    // _unlocked variants are the right calls.
    let ok = unsafe {
        bindings::fwrite_unlocked(text.as_ptr().cast(), 1, len, out) == len
            && bindings::fputc_unlocked(c_int::from(b'\n'), out) == c_int::from(b'\n')
            && bindings::fflush_unlocked(out) == 0
    };
    let result = if ok {
        Ok(())
    } else {
        // SAFETY: __errno_location returns this thread's errno; read right after the
        // failed call. g_strerror returns a static, NUL-terminated, UTF-8 string.
        let cause = unsafe { CStr::from_ptr(bindings::g_strerror(*bindings::__errno_location())) };
        // SAFETY: `out` is valid and locked by us.
        unsafe {
            bindings::__fpurge(out);
            bindings::clearerr_unlocked(out);
        }
        Err(WriteError(cause.to_str().unwrap_or("unknown error")))
    };
    // SAFETY: we locked `out` above.
    unsafe { bindings::funlockfile(out) };
    result
}

/// Writes `text` as one message to glib's log at level `G_LOG_LEVEL_MESSAGE`, the log
/// QEMU's guest agent writes to its `-l` file (or stderr) when it runs with `-v`. The
/// text is passed as an argument of `"%s"`, never as the format; a NUL byte in it,
/// where the C string would end, is written as the two characters `\0`.
///
/// Unlike [`print_line`] it takes no [`Bql`]: the guest agent has no big lock, and
/// glib's log serialises its writers itself.
pub fn log_message(text: &str) {
    let mut owned = Vec::with_capacity(text.len() + 1);
    crate::error::escaping_nul(text, |piece| owned.extend_from_slice(piece.as_bytes()));
    owned.push(0);
    // SAFETY: `owned` is NUL-terminated with no NUL before its end; "%s" reads it
    // as one C string, and g_log copies what it keeps.
    unsafe {
        bindings::g_log(
            ptr::null(),
            bindings::GLogLevelFlags::G_LOG_LEVEL_MESSAGE,
            c"%s".as_ptr(),
            owned.as_ptr().cast::<c_char>(),
        )
    };
}
