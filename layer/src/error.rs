// SPDX-License-Identifier: GPL-2.0-or-later
//! [`CommandError`]: what a command function returns when it fails.
//!
//! The command layer turns it into QEMU's `Error` (class GenericError, the text as the
//! client reads it), recording the file and line where the error was made, as C's
//! `error_setg` does; for an HMP command, the monitor prints `Error: <text>`.

use core::fmt::{self, Write};
use core::panic::Location;

use crate::error_text::ErrorText;

/// The longest error text kept, in bytes; longer ones end in "...".
pub const MAX_ERROR_LEN: usize = 511;

/// A failed command: the text the client reads and where it was made.
pub struct CommandError {
    text: ErrorText<{ MAX_ERROR_LEN + 1 }>,
    location: &'static Location<'static>,
}

impl CommandError {
    /// An error with `message`'s text, recorded at the caller's file and line.
    #[track_caller]
    pub fn new(message: impl fmt::Display) -> CommandError {
        let mut text = ErrorText::new();
        // ErrorText never fails; overlong text is cut with "...".
        let _ = write!(text, "{message}");
        CommandError { text, location: Location::caller() }
    }

    /// The text the client reads.
    pub fn message(&self) -> &str {
        self.text.as_str()
    }

    /// Where the error was made.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The text as a C string, for QEMU's `Error`.
    pub fn message_cstr(&self) -> &core::ffi::CStr {
        self.text.as_cstr()
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
    fn long_text_is_cut() {
        let e = CommandError::new("x".repeat(2000));
        assert_eq!(e.message().len(), MAX_ERROR_LEN);
        assert!(e.message().ends_with("..."));
    }
}
