// SPDX-License-Identifier: GPL-2.0-or-later
//! The command layer's C side: every `unsafe` block of the crate.
//!
//! A command author writes a safe function in `src/commands/<command>.rs`; `build.rs`
//! generates, from the schema in `qapi/`, the `extern "C"` handler QEMU calls for it
//! (`OUT_DIR/glue.rs`, included at the end of this file) and a compile-time proof that
//! the handler has exactly the type bindgen reads from QEMU's generated headers. The
//! generated code only calls what is written here, once:
//!
//! - [`Arg`]: a C argument as QAPI passes it → the Rust type the function takes
//!   (`&str`, `Option<&str>`, integers, `bool`, and their optional forms with QAPI's
//!   `has_*` flag); a string that is not UTF-8 is refused with a clear error.
//! - [`Ret`]: what the function returns → what the marshaller expects (nothing, or a
//!   QAPI struct allocated with glib, which QEMU's `qapi_free_*` frees).
//! - [`reply`] / [`hmp_reply`]: a `CommandError` → QEMU's `Error`, with the Rust
//!   caller's file and line; HMP prints it with `hmp_handle_error`.
//! - [`GStr`]: a string owned by glib's allocator, for struct members and events.
//! - [`Monitor`]: the calling human monitor, written to with `core::fmt`.
//! - [`print_line`]: one whole line on C's `stdout`, flushed, or the error that stopped it.
//!
//! No panic can unwind into C: the library is built with `panic = "abort"` and written
//! not to panic (no indexing, no unwrap); the panic handler aborts as a last resort.

use core::ffi::{CStr, c_char, c_int};
use core::fmt::{self, Write};
use core::ptr;

use crate::bindings;
use crate::error::CommandError;
use crate::error_text::ErrorText;
use crate::text::{self, ParamError};

/// A required argument's C value.
pub struct Required<C>(pub C);

/// An optional argument's C value: a pointer that is NULL when absent, or
/// `(has_flag, value)` for a scalar.
pub struct Optional<C>(pub C);

/// A C argument, as QAPI's marshaller or the HMP dispatcher passes it (`C`: a
/// [`Required`] or [`Optional`] C value), turned into the Rust type a command function
/// takes. The generated handler infers that type from the function's parameter, so a
/// parameter that does not fit the schema member is a compile error, naming both.
#[diagnostic::on_unimplemented(
    message = "a command function's parameter of type `{Self}` does not fit its schema member",
    label = "the schema member arrives as `{C}`",
    note = "take: str as `&str` (optional: `Option<&str>`; to see refused text yourself, \
            `Result<&str, ParamError>` / `Option<Result<&str, ParamError>>`), int as `i64` \
            (and the sized ints), bool as `bool`, an enum as its `qapi::` enum; an optional \
            scalar or enum as `Option<..>`"
)]
pub trait Arg<'a, C>: Sized {
    /// Converts `c`; refuses it with an error naming `member`.
    ///
    /// # Safety
    /// `c` is as QAPI passes it: a string pointer is NULL (only when optional) or points
    /// to a NUL-terminated string that stays valid for `'a`.
    unsafe fn from_c(c: C, member: &'static str) -> Result<Self, CommandError>;
}

impl<'a> Arg<'a, Optional<*const c_char>> for Option<Result<&'a str, ParamError>> {
    unsafe fn from_c(c: Optional<*const c_char>, member: &'static str) -> Result<Self, CommandError> {
        if c.0.is_null() {
            return Ok(None);
        }
        // SAFETY: a non-NULL pointer is NUL-terminated and valid for 'a (our contract).
        let bytes = unsafe { CStr::from_ptr::<'a>(c.0) }.to_bytes();
        Ok(Some(text::decode(bytes).map_err(|e| e.in_member(member))))
    }
}

impl<'a> Arg<'a, Optional<*const c_char>> for Option<&'a str> {
    unsafe fn from_c(c: Optional<*const c_char>, member: &'static str) -> Result<Self, CommandError> {
        // SAFETY: forwarded from our contract.
        let text: Option<Result<&'a str, ParamError>> = unsafe { Arg::from_c(c, member) }?;
        text.transpose().map_err(CommandError::new)
    }
}

impl<'a> Arg<'a, Required<*const c_char>> for Result<&'a str, ParamError> {
    unsafe fn from_c(c: Required<*const c_char>, member: &'static str) -> Result<Self, CommandError> {
        // SAFETY: forwarded from our contract.
        let text: Option<Result<&'a str, ParamError>> = unsafe { Arg::from_c(Optional(c.0), member) }?;
        text.ok_or_else(|| CommandError::new(format_args!("Parameter '{member}' is missing")))
    }
}

impl<'a> Arg<'a, Required<*const c_char>> for &'a str {
    unsafe fn from_c(c: Required<*const c_char>, member: &'static str) -> Result<Self, CommandError> {
        // SAFETY: forwarded from our contract.
        let text: Result<&'a str, ParamError> = unsafe { Arg::from_c(c, member) }?;
        text.map_err(CommandError::new)
    }
}

macro_rules! scalar_args {
    ($($t:ty),*) => {$(
        impl Arg<'_, Required<$t>> for $t {
            unsafe fn from_c(c: Required<$t>, _: &'static str) -> Result<Self, CommandError> {
                Ok(c.0)
            }
        }
        impl Arg<'_, Optional<(bool, $t)>> for Option<$t> {
            unsafe fn from_c(c: Optional<(bool, $t)>, _: &'static str) -> Result<Self, CommandError> {
                let (has, value) = c.0;
                Ok(has.then_some(value))
            }
        }
    )*};
}
scalar_args!(i8, i16, i32, i64, u8, u16, u32, u64, f64, bool);

/// What a command function returns, turned into what QAPI's marshaller expects.
pub trait Ret {
    /// The C return type.
    type C;
    /// The C value for a successful call.
    fn into_c(self) -> Self::C;
    /// The C value for a failed call (the error is in `errp`).
    fn failed() -> Self::C;
}

impl Ret for () {
    type C = ();
    fn into_c(self) {}
    fn failed() {}
}

/// A node type of a QAPI list (C `FooList`: `next` and `value`). The generated code
/// implements it for each list type a declaration uses.
pub trait ListNode: Sized {
    /// An element's Rust value.
    type Value;
    /// Stores `v` as the node's value.
    ///
    /// # Safety
    /// `node` is a zeroed node of the caller's, not yet in any list QEMU sees.
    unsafe fn set(node: *mut Self, v: Self::Value);
    /// The node's `next` field.
    ///
    /// # Safety
    /// `node` is a valid node.
    unsafe fn next(node: *mut Self) -> *mut *mut Self;
    /// Frees a whole list with QEMU's `qapi_free_<List>`.
    ///
    /// # Safety
    /// `list` is a list built by [`List`], owned by the caller.
    unsafe fn free(list: *mut Self);
}

/// A QAPI list built in glib memory, in the order values are pushed (the generated
/// `qapi::FooList` is `List<bindings::FooList>`). Returned by a command, or held by a
/// returned struct, it is QEMU's to free; dropped otherwise, QEMU's `qapi_free_<List>`
/// frees it here.
pub struct List<N: ListNode> {
    head: *mut N,
    tail: *mut N,
    len: usize,
}

#[allow(dead_code)] // used by generated code only when a declaration has a list
impl<N: ListNode> List<N> {
    /// The empty list (NULL to QEMU).
    pub const fn new() -> Self {
        List { head: ptr::null_mut(), tail: ptr::null_mut(), len: 0 }
    }

    /// Appends `v`.
    pub fn push(&mut self, v: N::Value) {
        let node = g_new0::<N>();
        // SAFETY: `node` is zeroed and ours alone.
        unsafe { N::set(node, v) };
        if self.tail.is_null() {
            self.head = node;
        } else {
            // SAFETY: `tail` is the last node of this list, valid and ours.
            unsafe { *N::next(self.tail) = node };
        }
        self.tail = node;
        self.len = self.len.wrapping_add(1);
    }

    /// How many values were pushed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The C list, handed over to QEMU.
    pub(crate) fn into_raw(self) -> *mut N {
        let head = self.head;
        core::mem::forget(self);
        head
    }
}

impl<N: ListNode> Drop for List<N> {
    fn drop(&mut self) {
        if !self.head.is_null() {
            // SAFETY: the nodes were built by `push` and never handed over.
            unsafe { N::free(self.head) };
        }
    }
}

impl<N: ListNode> Default for List<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: ListNode> core::fmt::Debug for List<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "List({} values)", self.len)
    }
}

impl<N: ListNode> Extend<N::Value> for List<N> {
    fn extend<I: IntoIterator<Item = N::Value>>(&mut self, values: I) {
        for v in values {
            self.push(v);
        }
    }
}

impl<N: ListNode> FromIterator<N::Value> for List<N> {
    fn from_iter<I: IntoIterator<Item = N::Value>>(values: I) -> Self {
        let mut list = Self::new();
        list.extend(values);
        list
    }
}

impl<N: ListNode> Ret for List<N> {
    type C = *mut N;
    fn into_c(self) -> *mut N {
        self.into_raw()
    }
    fn failed() -> *mut N {
        ptr::null_mut()
    }
}

/// A NUL-terminated string allocated by glib (`g_strndup`), as QAPI structs and events
/// hold them; QEMU frees the ones it is given with `g_free`.
pub struct GStr(*mut c_char);

// SAFETY: a GStr owns its allocation exclusively; glib's allocator is thread-safe.
unsafe impl Send for GStr {}

impl GStr {
    /// A copy of `s`. A NUL inside `s` ends the C string there, as C reads it.
    pub fn new(s: &str) -> GStr {
        // SAFETY: `s` is valid for `s.len()` bytes; g_strndup copies at most that many and
        // adds a NUL. It never returns NULL (glib aborts when memory runs out).
        GStr(unsafe { bindings::g_strndup(s.as_ptr().cast(), s.len() as _) })
    }

    /// The text (up to a NUL that `new` was given, if any).
    pub fn as_str(&self) -> &str {
        if self.0.is_null() {
            return "";
        }
        // SAFETY: `self.0` is a NUL-terminated string we own, alive while `self` is.
        let bytes = unsafe { CStr::from_ptr(self.0) }.to_bytes();
        // It was copied from a &str up to a NUL, so it is UTF-8; the fallback is not taken.
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// The pointer, still owned by `self`.
    pub fn as_ptr(&self) -> *const c_char {
        self.0
    }

    /// Gives up ownership: QEMU frees the pointer with `g_free`.
    pub fn into_raw(self) -> *mut c_char {
        let p = self.0;
        core::mem::forget(self);
        p
    }
}

impl Drop for GStr {
    fn drop(&mut self) {
        // SAFETY: the pointer came from g_strndup and is freed once, here.
        unsafe { bindings::g_free(self.0.cast()) }
    }
}

impl fmt::Debug for GStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A QAPI struct's C storage: zeroed memory from glib's allocator, which the
/// marshaller's `qapi_free_*` visitor releases with `g_free`. Never NULL: g_malloc0
/// aborts when memory runs out (the library itself has no path to `abort`).
#[allow(dead_code, reason = "called by the generated code of commands that return a struct")]
fn g_new0<T>() -> *mut T {
    // SAFETY: g_malloc0 returns zeroed memory of the size asked for, aligned for any C
    // type.
    unsafe { bindings::g_malloc0(core::mem::size_of::<T>() as _) }.cast()
}

/// Completes a QMP handler: the C return value, and on failure `*errp` set.
///
/// # Safety
/// `errp` is NULL, `&error_abort`, `&error_fatal` or points to a NULL `Error *`.
pub unsafe fn reply<R: Ret>(
    result: Result<R, CommandError>,
    errp: *mut *mut bindings::Error,
    func: &'static CStr,
) -> R::C {
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

/// HMP arguments, read from the `QDict` the dispatcher parsed according to `args_type`.
pub struct HmpArgs(*const bindings::QDict);

impl HmpArgs {
    /// # Safety
    /// `qdict` is the dispatcher's argument dictionary, valid for the call.
    pub unsafe fn new(qdict: *const bindings::QDict) -> HmpArgs {
        HmpArgs(qdict)
    }

    /// A string argument (`s`, `S`, `F` in args_type): NULL when absent, else borrowed
    /// from the dictionary for the call.
    pub fn str(&self, key: &CStr) -> *const c_char {
        // SAFETY: the dictionary is valid for the call (`new`'s contract); `key` is
        // NUL-terminated.
        unsafe { bindings::qdict_get_try_str(self.0, key.as_ptr()) }
    }

    /// An integer argument (`i`, `l`, `M`, `o`, `T`): whether given, and its value.
    #[allow(dead_code, reason = "called by the generated code of HMP entries with such arguments")]
    pub fn int(&self, key: &CStr) -> (bool, i64) {
        // SAFETY: as in `str`.
        let has = unsafe { bindings::qdict_haskey(self.0, key.as_ptr()) } != 0;
        // SAFETY: as in `str`; a missing key yields the default.
        (has, unsafe { bindings::qdict_get_try_int(self.0, key.as_ptr(), 0) })
    }

    /// A boolean argument (`b`, or a `-flag`): whether given, and its value.
    #[allow(dead_code, reason = "called by the generated code of HMP entries with such arguments")]
    pub fn bool(&self, key: &CStr) -> (bool, bool) {
        // SAFETY: as in `str`.
        let has = unsafe { bindings::qdict_haskey(self.0, key.as_ptr()) } != 0;
        // SAFETY: as in `str`; a missing key yields the default.
        (has, unsafe { bindings::qdict_get_try_bool(self.0, key.as_ptr(), false) })
    }
}

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
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.as_bytes().chunks(c_int::MAX as usize) {
            // SAFETY: the monitor is valid for the call (`new`'s contract); "%.*s" reads
            // exactly `len` bytes of `chunk`, which need no NUL.
            unsafe {
                bindings::monitor_printf(self.0, c"%.*s".as_ptr(), chunk.len() as c_int, chunk.as_ptr())
            };
        }
        Ok(())
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
pub fn print_line(text: &str) -> Result<(), WriteError> {
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

// The handlers, types and events generated from the schema (see build.rs).
include!(concat!(env!("OUT_DIR"), "/glue.rs"));
