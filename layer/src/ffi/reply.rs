// SPDX-License-Identifier: GPL-2.0-or-later
//! Completing a handler: the C return value, or QEMU's `Error` with the Rust caller's place.

#[allow(unused_imports)]
use super::*;

/// Completes a QMP handler: the C return value, and on failure `*errp` set.
///
/// # Safety
/// `errp` is NULL, `&error_abort`, `&error_fatal` or points to a NULL `Error *`.
pub unsafe fn reply<R: Ret>(
    command: &'static str,
    result: Result<R, CommandError>,
    errp: *mut *mut bindings::Error,
    func: &'static CStr,
) -> R::C {
    // A value that cannot reach the client unchanged is refused whole (and dropped,
    // which frees what it holds), never cut.
    let result = result.and_then(|v| match v.fault() {
        None => Ok(v),
        Some(f) => Err(f.refuse_reply(command)),
    });
    match result {
        Ok(v) => v.into_c(),
        Err(e) => {
            // SAFETY: forwarded from our contract.
            unsafe { set_error(errp, &e, func) };
            R::failed()
        }
    }
}

/// Completes an HMP handler: on failure the monitor prints `Error: <text>`.
///
/// # Safety
/// `mon` is the calling monitor, valid for the call.
#[inline]
pub unsafe fn hmp_reply(mon: *mut bindings::Monitor, result: Result<(), CommandError>, func: &'static CStr) {
    if let Err(e) = result {
        let mut err: *mut bindings::Error = ptr::null_mut();
        // SAFETY: `err` is a NULL `Error *` of ours.
        unsafe { set_error(&mut err, &e, func) };
        // SAFETY: `mon` is valid (our contract); hmp_handle_error prints and frees `err`.
        unsafe { bindings::hmp_handle_error(mon, err) };
    }
}

/// Sets `*errp` to a GenericError with `e`'s text and source location, like `error_setg`.
///
/// # Safety
/// `errp` is NULL, `&error_abort`, `&error_fatal` or points to a NULL `Error *`.
unsafe fn set_error(errp: *mut *mut bindings::Error, e: &CommandError, func: &'static CStr) {
    let mut file = ErrorText::<256>::new();
    let _ = file.write_str(e.location().file());
    // QEMU keeps the file pointer, so it must live for ever: intern it (once per file).
    // SAFETY: `file` is NUL-terminated; g_intern_string copies it and never frees the copy.
    let file = unsafe { bindings::g_intern_string(file.as_cstr().as_ptr()) };
    let line = c_int::try_from(e.location().line()).unwrap_or(0);
    // SAFETY: `errp` is as required (our contract); `file` and `func` live for ever, as
    // QEMU stores the pointers; the format is the literal "%s" and its one argument a
    // NUL-terminated string that QEMU copies before we return.
    unsafe {
        bindings::error_setg_internal(
            errp,
            file,
            line,
            func.as_ptr(),
            c"%s".as_ptr(),
            e.message_cstr().as_ptr(),
        )
    };
}
