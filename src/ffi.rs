// SPDX-License-Identifier: GPL-2.0-or-later
//! The C entry points QEMU calls, and every `unsafe` block of the crate.
//!
//! - `qmp_hello_world`: QAPI's marshaller calls it with the optional `message` (NULL
//!   when absent, borrowed until we return) and an `Error **` to fill on failure.
//! - `hmp_hello_world`: the human monitor calls it; it runs the QMP handler and reports
//!   an error through `hmp_handle_error`, as QEMU's guide asks of HMP twins.
//!
//! Output goes through C's `stdout`, the same stdio stream (and lock) as QEMU's own
//! `printf`s. A call writes its whole line under `flockfile`, so lines never interleave,
//! and flushes it before replying. If the write fails (disk full, reader gone: QEMU
//! ignores SIGPIPE), the unwritten bytes are discarded, the stream's error flag is
//! cleared, and the command fails with a GenericError naming the cause; QEMU runs on.
//!
//! No panic can unwind into C: the library is built with `panic = "abort"` and its code
//! is written not to panic (no indexing, no unwrap); the panic handler aborts as a last
//! resort only.

use core::ffi::{CStr, c_char, c_int};
use core::fmt::{self, Write};
use core::panic::Location;
use core::ptr;

use crate::bindings;
use crate::error_text::ErrorText;
use crate::message::{self, MessageError};

// Compile-time proof that the exports below have exactly the types bindgen reads from
// QEMU's headers: the array's elements must coerce to one function-pointer type, which
// fails to compile if any parameter or the return type differs.
const _: () = {
    let _ = [qmp_hello_world, bindings::qmp_hello_world];
    let _ = [hmp_hello_world, bindings::hmp_hello_world];
};

/// QMP `hello-world` (QEMU ≥ 8.0 ABI: an absent optional string is a NULL pointer).
///
/// # Safety
/// `message` is NULL or a NUL-terminated string valid for the call; `errp` is NULL,
/// `&error_abort`, `&error_fatal` or points to a NULL `Error *`, as QAPI guarantees.
#[cfg(not(qemu_has_message))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qmp_hello_world(message: *const c_char, errp: *mut *mut bindings::Error) {
    // SAFETY: forwarded from this function's own contract.
    unsafe { hello_world(message, errp) }
}

/// QMP `hello-world` (QEMU < 8.0 ABI: `has_message` tells whether `message` is set).
///
/// # Safety
/// When `has_message` is true, `message` is a NUL-terminated string valid for the call;
/// `errp` is as QAPI guarantees (see the ≥ 8.0 variant).
#[cfg(qemu_has_message)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qmp_hello_world(
    has_message: bool,
    message: *const c_char,
    errp: *mut *mut bindings::Error,
) {
    let message = if has_message { message } else { ptr::null() };
    // SAFETY: forwarded from this function's own contract.
    unsafe { hello_world(message, errp) }
}

/// HMP `hello-world [message]`.
///
/// # Safety
/// `mon` is the calling monitor and `qdict` holds the parsed arguments, as the HMP
/// dispatcher guarantees; both are valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hmp_hello_world(mon: *mut bindings::Monitor, qdict: *const bindings::QDict) {
    // SAFETY: `qdict` is valid (our contract); the key is a NUL-terminated literal. The
    // result is NULL or a string owned by `qdict`, which outlives this call.
    let message = unsafe { bindings::qdict_get_try_str(qdict, c"message".as_ptr()) };
    let mut err: *mut bindings::Error = ptr::null_mut();
    // SAFETY: `message` is NULL or valid for the call; `err` is a NULL `Error *`.
    #[cfg(not(qemu_has_message))]
    unsafe {
        qmp_hello_world(message, &mut err)
    };
    // SAFETY: as above; `has_message` says whether `message` is set.
    #[cfg(qemu_has_message)]
    unsafe {
        qmp_hello_world(!message.is_null(), message, &mut err)
    };
    // SAFETY: `mon` is valid (our contract); `err` is NULL or an `Error` we own, which
    // hmp_handle_error prints into the monitor and frees.
    unsafe { bindings::hmp_handle_error(mon, err) };
}

/// Why a call failed, as the client reads it.
enum Failure {
    Refused(MessageError),
    Write(&'static str),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(e) => e.fmt(f),
            Failure::Write(cause) => {
                write!(f, "Cannot write the message to standard output: {cause}")
            }
        }
    }
}

/// The body of both ABIs' `qmp_hello_world`.
///
/// # Safety
/// As `qmp_hello_world`, with an absent message as NULL.
unsafe fn hello_world(message: *const c_char, errp: *mut *mut bindings::Error) {
    let bytes = if message.is_null() {
        None
    } else {
        // SAFETY: a non-NULL `message` is NUL-terminated and valid for the call.
        Some(unsafe { CStr::from_ptr(message) }.to_bytes())
    };
    let result = message::line(bytes).map_err(Failure::Refused).and_then(print_line);
    if let Err(failure) = result {
        // SAFETY: `errp` is as QAPI guarantees (our contract).
        unsafe { set_error(errp, &failure) };
    }
}

/// Writes `text` and a newline to C's stdout as one locked, flushed unit.
fn print_line(text: &str) -> Result<(), Failure> {
    // SAFETY: glibc's `stdout` is initialised before main and never reassigned by QEMU.
    let out = unsafe { bindings::stdout };
    // SAFETY: `out` is a valid stream; the lock is released below on every path.
    unsafe { bindings::flockfile(out) };
    // `size_t` is as wide as `usize` on every target QEMU supports; bindgen spells it
    // as the C type it resolves to.
    let len = text.len() as _;
    // SAFETY: `text` is valid for `len` bytes; `out` is valid and locked by us.
    let written = unsafe { bindings::fwrite(text.as_ptr().cast(), 1, len, out) };
    // SAFETY: as above; fputc and fflush take the recursive lock we hold.
    let ok = written == len
        && unsafe { bindings::fputc(c_int::from(b'\n'), out) } == c_int::from(b'\n')
        && unsafe { bindings::fflush(out) } == 0;
    let result = if ok {
        Ok(())
    } else {
        // SAFETY: __errno_location returns this thread's errno; read right after the
        // failed call. g_strerror returns a static, NUL-terminated, UTF-8 string.
        let cause = unsafe { CStr::from_ptr(bindings::g_strerror(*bindings::__errno_location())) };
        // SAFETY: `out` is valid and locked; discarding the unwritten rest of our line and
        // clearing the error flag keeps later lines whole and writable.
        unsafe {
            bindings::__fpurge(out);
            bindings::clearerr(out);
        }
        Err(Failure::Write(cause.to_str().unwrap_or("unknown error")))
    };
    // SAFETY: we locked `out` above.
    unsafe { bindings::funlockfile(out) };
    result
}

/// The source file QEMU records with each error (it keeps the pointer, so it is static).
const SRC_FILE: &CStr = match CStr::from_bytes_with_nul(concat!(file!(), "\0").as_bytes()) {
    Ok(s) => s,
    Err(_) => panic!("source path contains a NUL byte"),
};

/// Sets `*errp` to a GenericError with `err`'s text, like C's `error_setg`.
///
/// # Safety
/// `errp` is NULL, `&error_abort`, `&error_fatal` or points to a NULL `Error *`.
#[track_caller]
unsafe fn set_error(errp: *mut *mut bindings::Error, err: &dyn fmt::Display) {
    let mut text = ErrorText::<512>::new();
    // ErrorText never fails; overlong text is cut with "...".
    let _ = write!(text, "{err}");
    let line = c_int::try_from(Location::caller().line()).unwrap_or(0);
    // SAFETY: `errp` is as required (our contract); file and function names are static C
    // strings, as QEMU stores the pointers; the format is the literal "%s" and its one
    // argument a NUL-terminated string that QEMU copies before we return.
    unsafe {
        bindings::error_setg_internal(
            errp,
            SRC_FILE.as_ptr(),
            line,
            c"qmp_hello_world".as_ptr(),
            c"%s".as_ptr(),
            text.as_cstr().as_ptr(),
        )
    };
}

/// Last resort: the code above is written not to panic; if it ever did, abort rather than
/// unwind into C.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: abort() has no preconditions and does not return.
    unsafe { bindings::abort() }
}

/// `core`'s precompiled objects refer to this symbol; with `panic = "abort"` nothing calls it.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
