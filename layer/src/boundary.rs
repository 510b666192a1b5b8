// SPDX-License-Identifier: GPL-2.0-or-later
//! The panic boundary: every generated handler runs its command inside [`guard`], so a
//! panic in command code (an index out of range, an `unwrap` on `None`, a `panic!`, a
//! capacity overflow) ends that call only. The unwinding stops here, the values the
//! command held are dropped on the way (nothing leaks, a `BqlRefCell` borrow is given
//! back), and the client reads a `GenericError` naming the command, the panic's message
//! and where it happened. No unwinding ever reaches C: the handlers are `extern "C"`,
//! which Rust aborts at rather than unwind through, and nothing outside `guard` in them
//! panics.
//!
//! While a command runs, a panic hook (installed once, the first time a handler runs)
//! records the message and location for the reply instead of printing them; outside a
//! command it hands over to the hook that was there before. The message is kept whole.
//! The place is the panic's `file:line:column`; when that is outside the command
//! crate (an absolute path: the standard library's `/rustc/…`, a dependency's), it is
//! the innermost frame in the crate's own files (`src/…:line`, from the build's line
//! tables: `debug = "line-tables-only"` in the release profile), followed by the
//! library's place in parentheses.
//!
//! Running out of memory is not a panic: as in QEMU's own C, the process aborts (Rust's
//! allocation-failure handler does, as glib's `g_malloc` would).
//!
//! Two panics abort the process (QEMU ends with SIGABRT) before `catch_unwind` can see
//! them, as in any Rust program; no error reply is possible, since Rust cannot unwind
//! from either:
//!
//! - a panic in a `Drop` that runs while another panic unwinds. QEMU's standard error
//!   then reads `a command panicked at <place>: <message>, and panicked again while
//!   unwinding from it:`, the second panic as Rust's default hook prints it, and Rust's
//!   `thread caused non-unwinding panic. aborting.`;
//! - a panic while a panic's message is formatted (`panic!("{}", x)` where `x`'s
//!   `Display` panics): standard error reads `thread panicked while processing panic.
//!   aborting.`
//!
//! Command values' `Drop` and `Display` must not panic. `tests/new_command.rs` shows
//! both: QEMU's exit and those lines.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::error::CommandError;

thread_local! {
    /// How many guarded calls this thread is inside (the hook records only then), and
    /// the number of the latest call (a panic recorded in an earlier one, which its
    /// command caught itself, is no longer of interest).
    static DEPTH: Cell<(u32, u32)> = const { Cell::new((0, 0)) };
    /// The last panic in a guarded call, and that call's number: "<place>: <message>".
    static CAUGHT: RefCell<Option<(u32, String)>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let (depth, call) = DEPTH.get();
        if depth == 0 {
            return previous(info);
        }
        let unwinding = CAUGHT.with_borrow(|c| c.as_ref().is_some_and(|(n, _)| *n == call));
        if unwinding {
            // A second panic while the call's first unwinds: Rust aborts the process
            // once this returns. Say what happened, first panic first.
            if let Some((_, first)) = CAUGHT.replace(Some((call, String::new())))
                && !first.is_empty()
            {
                eprintln!("a command panicked at {first}, and panicked again while unwinding from it:");
            }
            return previous(info);
        }
        let text = match info.location() {
            Some(at) => format!("{}: {}", place(at), payload_text(info.payload())),
            None => payload_text(info.payload()).to_string(),
        };
        CAUGHT.set(Some((call, text)));
    }));
}

/// Where a panic happened: its `file:line:column`, or, when that is outside the
/// command crate (an absolute path), the innermost frame in the crate's own files and
/// then the place in parentheses.
fn place(at: &panic::Location<'_>) -> String {
    let here = format!("{}:{}:{}", at.file(), at.line(), at.column());
    if !at.file().starts_with('/') {
        return here;
    }
    match crate_frame() {
        Some(frame) => format!("{frame} (in {here})"),
        None => here,
    }
}

/// The innermost frame of this thread's stack in the command crate's own files
/// (`src/…`, as the build's remapped line tables name them), as `file:line`; none
/// without line tables.
fn crate_frame() -> Option<String> {
    // `Backtrace`'s Debug form lists the frames innermost first, each as
    // `{ fn: "…", file: "…", line: N }`.
    let trace = format!("{:?}", std::backtrace::Backtrace::force_capture());
    trace.split("file: \"").skip(1).find_map(|rest| {
        let (file, rest) = rest.split_once('"')?;
        let line: String = rest.strip_prefix(", line: ")?.chars().take_while(char::is_ascii_digit).collect();
        (file.starts_with("src/") && !line.is_empty()).then(|| format!("{file}:{line}"))
    })
}

/// A panic payload's text: what `panic!` and the standard library's panics carry.
fn payload_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "a panic without a message"
    }
}

/// Runs the command call `call` of `command`: its result, or, if it panicked, an error
/// `command '<command>' panicked at <file>:<line>:<column>: <message>`. The file is as
/// the compiler names it: `cargo xtask build` remaps the checkout's directory away, so it
/// reads `src/commands/<command>.rs`, and the library holds no path of the build machine.
#[inline]
pub fn guard<T>(
    command: &'static str,
    call: impl FnOnce() -> Result<T, CommandError>,
) -> Result<T, CommandError> {
    HOOK.call_once(install_hook);
    let (depth, serial) = DEPTH.get();
    DEPTH.set((depth.wrapping_add(1), serial.wrapping_add(1)));
    // Unwind safety: the call's own values are dropped as it unwinds; what outlives it
    // (state in a `BqlRefCell`) is as a `RefCell` leaves it, which a command that can
    // panic half-way through an update must allow for, as with any `RefCell`.
    let result = panic::catch_unwind(AssertUnwindSafe(call));
    let (depth, serial) = DEPTH.get();
    DEPTH.set((depth.wrapping_sub(1), serial));
    result.unwrap_or_else(|payload| Err(panicked(command, payload)))
}

#[cold]
#[inline(never)]
fn panicked(command: &'static str, payload: Box<dyn Any + Send>) -> CommandError {
    let text = CAUGHT
        .take()
        .map(|(_, text)| text)
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| payload_text(&*payload).to_string());
    // A payload of `panic_any` may panic as it is dropped: that stays here too.
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
    CommandError::new(format_args!("command '{command}' panicked at {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T: std::fmt::Debug>(r: Result<T, CommandError>) -> String {
        r.expect_err("the call panicked").message().to_string()
    }

    #[test]
    fn each_kind_of_panic_becomes_an_error_naming_the_command_and_the_place() {
        let v = Vec::from([1, 2, 3]);
        let i = v.len() + 4;
        let line = line!() + 1;
        let e = message(guard("count-words", || Ok(v[i])));
        let source = include_str!("boundary.rs").lines().nth(line as usize - 1).unwrap();
        let column = source.find("[i]").unwrap() + 1;
        assert_eq!(
            e,
            format!(
                "command 'count-words' panicked at {}:{line}:{column}: index out of bounds: the len is 3 but the index is 7",
                file!()
            )
        );
        let none: Option<u8> = std::hint::black_box(None);
        let e = message(guard("c", || Ok(none.unwrap())));
        assert!(e.contains("called `Option::unwrap()` on a `None` value"), "{e}");
        let e = message(guard("c", || -> Result<(), _> { panic!("bad {} of {}", 3, "x") }));
        assert!(e.starts_with(&format!("command 'c' panicked at {}:", file!())), "{e}");
        assert!(e.ends_with(": bad 3 of x"), "{e}");
        let n = usize::MAX - usize::from(none.is_some());
        let e = message(guard("c", || Ok(Vec::<u64>::with_capacity(n).len())));
        assert!(e.ends_with(": capacity overflow"), "{e}");
    }

    #[test]
    fn a_call_that_does_not_panic_passes_through() {
        assert_eq!(guard("c", || Ok::<_, CommandError>(7)).unwrap(), 7);
        let e = guard("c", || Err::<(), _>(CommandError::new("refused"))).unwrap_err();
        assert_eq!(e.message(), "refused");
    }

    #[test]
    fn a_payload_that_panics_when_dropped_stays_inside() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("dropped");
            }
        }
        let e = message(guard("c", || -> Result<(), _> { panic::panic_any(Bomb) }));
        assert!(e.ends_with(": a panic without a message"), "{e}");
    }
}
