// SPDX-License-Identifier: GPL-2.0-or-later
//! [`CommandError`]: what a command function returns when it fails.
//!
//! The command layer turns it into QEMU's `Error` (class GenericError, the text as the
//! client reads it), recording the file and line where the error was made, as C's
//! `error_setg` does; for an HMP command, the monitor prints `Error: <text>`.
//!
//! The text is kept whole, however long. A NUL byte in it, which would end QEMU's C
//! string there and lose the rest, is written as the two characters `\0`.

use core::ffi::CStr;
use core::fmt::{self, Write};
use core::panic::Location;

/// A failed command: the text the client reads and where it was made.
pub struct CommandError {
    /// The text, NUL-terminated (and with no NUL before the end).
    text: String,
    location: &'static Location<'static>,
}

impl CommandError {
    /// An error with `message`'s text, recorded at the caller's file and line.
    #[track_caller]
    #[cold]
    pub fn new(message: impl fmt::Display) -> CommandError {
        let mut text = Escaped(String::new());
        // Writing to a String never fails.
        let _ = write!(text, "{message}");
        let mut text = text.0;
        text.push('\0');
        CommandError { text, location: Location::caller() }
    }

    /// The text the client reads.
    pub fn message(&self) -> &str {
        self.text.strip_suffix('\0').unwrap_or(&self.text)
    }

    /// Where the error was made.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The text as a C string, for QEMU's `Error`.
    pub fn message_cstr(&self) -> &CStr {
        // `new` ends the text with its only NUL; the fallback is never taken.
        CStr::from_bytes_with_nul(self.text.as_bytes()).unwrap_or(c"")
    }
}

/// Hands `s` to `out` in pieces that hold no NUL byte, each NUL as the two characters
/// `\0`: for text that ends up in a C string (an error's, the human monitor's output),
/// where a NUL would end it and lose the rest.
pub(crate) fn escaping_nul(s: &str, mut out: impl FnMut(&str)) {
    let mut parts = s.split('\0');
    if let Some(first) = parts.next() {
        out(first);
    }
    for part in parts {
        out("\\0");
        out(part);
    }
}

/// A `String` written with each NUL byte as `\0`.
struct Escaped(String);

impl Write for Escaped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escaping_nul(s, |piece| self.0.push_str(piece));
        Ok(())
    }
}

impl fmt::Debug for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandError({:?} at {})", self.message(), self.location)
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_the_callers_line_and_the_text() {
        let line = line!() + 1;
        let e = CommandError::new(format_args!("bad {}", 42));
        assert_eq!(e.message(), "bad 42");
        assert_eq!(e.location().line(), line);
        assert!(e.location().file().ends_with("error.rs"));
        assert_eq!(e.message_cstr().to_bytes(), b"bad 42");
    }

    #[test]
    fn long_text_is_kept_whole() {
        let long = "x".repeat(2000);
        let e = CommandError::new(&long);
        assert_eq!(e.message(), long);
        assert_eq!(e.message_cstr().to_bytes().len(), 2000);
    }

    #[test]
    fn nul_bytes_are_handed_on_written_out() {
        let mut pieces = Vec::new();
        escaping_nul("\0a\0\0b\0", |p| pieces.push(p.to_string()));
        assert_eq!(pieces.concat(), "\\0a\\0\\0b\\0");
        assert!(pieces.iter().all(|p| !p.contains('\0')), "{pieces:?}");
        pieces.clear();
        escaping_nul("plain", |p| pieces.push(p.to_string()));
        assert_eq!(pieces, ["plain"]);
    }

    #[test]
    fn a_nul_in_the_text_is_written_out_not_cut() {
        let e = CommandError::new(format_args!("before\0after {}", "x\0"));
        assert_eq!(e.message(), "before\\0after x\\0");
        assert_eq!(e.message_cstr().to_str().unwrap(), "before\\0after x\\0");
    }
}
