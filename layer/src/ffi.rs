// SPDX-License-Identifier: GPL-2.0-or-later
//! The command layer's C side: every `unsafe` block of the crate.
//!
//! A command author writes a safe function in `src/commands/<command>.rs`; the command
//! crate's build (`qemu_monitor_layer_build::generate()`) generates, from the schema in
//! `qapi/`, the `extern "C"` handler QEMU calls for it (`OUT_DIR/glue.rs`, which
//! `commands!()` includes) and a compile-time proof that the handler has exactly the
//! type bindgen reads from QEMU's generated headers. The generated code only calls what
//! is written here, once:
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
//! - [`GlibAlloc`]: Rust's heap (`String`, `Vec`, `format!`) on glib's allocator, so a
//!   `String` becomes a [`GStr`] QEMU frees with `g_free`, without a copy.
//!
//! No panic can unwind into C: each handler runs its command inside
//! [`guard`](crate::boundary::guard), which turns a panic into the call's error.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, UnsafeCell};
use core::ffi::{CStr, c_char, c_int};
use core::fmt::{self, Write};
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr;

use crate::any::Any;
use crate::error::CommandError;
use crate::error_text::ErrorText;
use crate::fault::Fault;
use crate::sys as bindings;
use crate::text::{self, ParamError};

/// The scope of one handler call. The generated handler makes one on its stack and lends
/// every borrowed argument (a string QEMU's marshaller frees once the handler returns)
/// for a borrow of it, so no argument can outlive the call: a command function whose
/// parameter is `&'static str` does not compile ("`scope` does not live long enough").
pub struct Scope(PhantomData<*mut ()>);

impl Scope {
    /// A scope for one call.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Scope {
        Scope(PhantomData)
    }
}

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
            (and the sized ints), bool as `bool`, an enum as its `qapi::` enum, a struct as \
            its `qapi::borrowed::` struct, a list as a `Vec` of its elements; an optional \
            one as `Option<..>`"
)]
pub trait Arg<'a, C>: Sized {
    /// Converts `c`, lent for a borrow of the call's `scope`; refuses it with an error
    /// naming `member`.
    ///
    /// # Safety
    /// `c` is as QAPI passes it: a string pointer is NULL (only when optional) or points
    /// to a NUL-terminated string that stays valid while `scope` lives.
    unsafe fn from_c(c: C, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError>;
}

impl<'a> Arg<'a, Optional<*const c_char>> for Option<Result<&'a str, ParamError>> {
    unsafe fn from_c(
        c: Optional<*const c_char>,
        scope: &'a Scope,
        member: &'static str,
    ) -> Result<Self, CommandError> {
        let _ = scope;
        if c.0.is_null() {
            return Ok(None);
        }
        // SAFETY: a non-NULL pointer is NUL-terminated and valid while `scope` lives,
        // which is at least 'a (our contract).
        let bytes = unsafe { CStr::from_ptr::<'a>(c.0) }.to_bytes();
        Ok(Some(text::decode(bytes).map_err(|e| e.in_member(member))))
    }
}

impl<'a> Arg<'a, Optional<*const c_char>> for Option<&'a str> {
    unsafe fn from_c(
        c: Optional<*const c_char>,
        scope: &'a Scope,
        member: &'static str,
    ) -> Result<Self, CommandError> {
        // SAFETY: forwarded from our contract.
        let text: Option<Result<&'a str, ParamError>> = unsafe { Arg::from_c(c, scope, member) }?;
        text.transpose().map_err(CommandError::new)
    }
}

impl<'a> Arg<'a, Required<*const c_char>> for Result<&'a str, ParamError> {
    unsafe fn from_c(
        c: Required<*const c_char>,
        scope: &'a Scope,
        member: &'static str,
    ) -> Result<Self, CommandError> {
        // SAFETY: forwarded from our contract.
        let text: Option<Result<&'a str, ParamError>> = unsafe { Arg::from_c(Optional(c.0), scope, member) }?;
        text.ok_or_else(|| CommandError::new(format_args!("Parameter '{member}' is missing")))
    }
}

impl<'a> Arg<'a, Required<*const c_char>> for &'a str {
    unsafe fn from_c(
        c: Required<*const c_char>,
        scope: &'a Scope,
        member: &'static str,
    ) -> Result<Self, CommandError> {
        // SAFETY: forwarded from our contract.
        let text: Result<&'a str, ParamError> = unsafe { Arg::from_c(c, scope, member) }?;
        text.map_err(CommandError::new)
    }
}

macro_rules! scalar_args {
    ($($t:ty),*) => {$(
        impl<'a> Arg<'a, Required<$t>> for $t {
            unsafe fn from_c(c: Required<$t>, _: &'a Scope, _: &'static str) -> Result<Self, CommandError> {
                Ok(c.0)
            }
        }
        impl<'a> Arg<'a, Optional<(bool, $t)>> for Option<$t> {
            unsafe fn from_c(c: Optional<(bool, $t)>, _: &'a Scope, _: &'static str) -> Result<Self, CommandError> {
                let (has, value) = c.0;
                Ok(has.then_some(value))
            }
        }
    )*};
}
scalar_args!(i8, i16, i32, i64, u8, u16, u32, u64, f64, bool);

/// A node type of a QAPI list a command receives (C `FooList`: `next` and `value`), read
/// in place: the generated code implements it for each list type an argument uses.
///
/// # Safety
/// `value` and `following` read the node's own fields and nothing else.
pub unsafe trait ListRead: Sized {
    /// An element's C value, as [`Arg`] takes it (a string as `*const c_char`).
    type C;
    /// The node's value.
    ///
    /// # Safety
    /// `node` is a valid node.
    unsafe fn value(node: *const Self) -> Self::C;
    /// The next node, NULL after the last.
    ///
    /// # Safety
    /// `node` is a valid node.
    unsafe fn following(node: *const Self) -> *const Self;
}

/// A list argument (NULL is the empty list, as QAPI's C has it), each element converted
/// as a member of its type would be, in order; the elements borrow from QEMU's list for
/// the call, as strings do.
impl<'a, N: ListRead, T: Arg<'a, Required<N::C>>> Arg<'a, Required<*mut N>> for Vec<T> {
    unsafe fn from_c(
        c: Required<*mut N>,
        scope: &'a Scope,
        member: &'static str,
    ) -> Result<Self, CommandError> {
        let mut out = Vec::new();
        let mut node: *const N = c.0;
        while !node.is_null() {
            // SAFETY: `node` is a node of the list QAPI passed, valid while `scope` lives
            // (our contract); its value is as QAPI passes a member of the element type.
            let value = unsafe { Arg::from_c(Required(N::value(node)), scope, member) }?;
            out.push(value);
            // SAFETY: as above.
            node = unsafe { N::following(node) };
        }
        Ok(out)
    }
}

/// An optional list or struct argument: NULL is absent. (QEMU since 8.0 passes an empty
/// optional list as NULL too, so there it reads as absent.)
impl<'a, C, T: Arg<'a, Required<*mut C>>> Arg<'a, Optional<*mut C>> for Option<T> {
    unsafe fn from_c(
        c: Optional<*mut C>,
        scope: &'a Scope,
        member: &'static str,
    ) -> Result<Self, CommandError> {
        if c.0.is_null() {
            return Ok(None);
        }
        // SAFETY: forwarded from our contract.
        unsafe { Arg::from_c(Required(c.0), scope, member) }.map(Some)
    }
}

/// A struct member that can contain the struct it is in (a recursive type), boxed.
impl<'a, C, T: Arg<'a, Required<*mut C>>> Arg<'a, Required<*mut C>> for Box<T> {
    unsafe fn from_c(
        c: Required<*mut C>,
        scope: &'a Scope,
        member: &'static str,
    ) -> Result<Self, CommandError> {
        // SAFETY: forwarded from our contract.
        unsafe { Arg::from_c(c, scope, member) }.map(Box::new)
    }
}

// QAPI's `any` (crate::any::Any): reading it from QEMU's QObject and building one.
impl Any {
    /// The value of `o`, copied.
    ///
    /// # Safety
    /// `o` is a valid QObject, alive for the call.
    unsafe fn read(o: *const bindings::QObject, member: &'static str) -> Result<Any, CommandError> {
        let text = |p: *const c_char| -> Result<String, CommandError> {
            // SAFETY: QEMU's strings are NUL-terminated and live as long as `o`.
            let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
            text::decode(bytes).map(String::from).map_err(|e| CommandError::new(e.in_member(member)))
        };
        // SAFETY: `o` is valid (our contract); each accessor is called for the kind
        // `qemu_monitor_layer_any_kind` reports, and each entry is read while `o` lives.
        unsafe {
            Ok(match bindings::qemu_monitor_layer_any_kind(o) as u32 {
                bindings::QEMU_MONITOR_LAYER_ANY_BOOL => Any::Bool(bindings::qemu_monitor_layer_any_bool(o)),
                bindings::QEMU_MONITOR_LAYER_ANY_INT => Any::Int(bindings::qemu_monitor_layer_any_int(o)),
                bindings::QEMU_MONITOR_LAYER_ANY_UINT => Any::Uint(bindings::qemu_monitor_layer_any_uint(o)),
                bindings::QEMU_MONITOR_LAYER_ANY_NUMBER => {
                    Any::Number(bindings::qemu_monitor_layer_any_number(o))
                }
                bindings::QEMU_MONITOR_LAYER_ANY_STR => {
                    Any::Str(text(bindings::qemu_monitor_layer_any_str(o))?)
                }
                kind @ (bindings::QEMU_MONITOR_LAYER_ANY_LIST | bindings::QEMU_MONITOR_LAYER_ANY_DICT) => {
                    let mut list = Vec::new();
                    let mut dict = std::collections::BTreeMap::new();
                    let mut entry = bindings::qemu_monitor_layer_any_first(o);
                    while !entry.is_null() {
                        let value = Any::read(bindings::qemu_monitor_layer_any_value(o, entry), member)?;
                        if kind == bindings::QEMU_MONITOR_LAYER_ANY_LIST {
                            list.push(value);
                        } else {
                            dict.insert(text(bindings::qemu_monitor_layer_any_key(o, entry))?, value);
                        }
                        entry = bindings::qemu_monitor_layer_any_next(o, entry);
                    }
                    if kind == bindings::QEMU_MONITOR_LAYER_ANY_LIST {
                        Any::List(list)
                    } else {
                        Any::Dict(dict)
                    }
                }
                _ => Any::Null,
            })
        }
    }

    /// A new QObject holding the value; the reference is the caller's.
    fn build(self) -> *mut bindings::QObject {
        // SAFETY: each constructor returns a new reference; `append` and `put` take the
        // value's reference into a list or dict of ours; the key is NUL-terminated and
        // copied by QEMU.
        unsafe {
            match self {
                Any::Null => bindings::qemu_monitor_layer_any_new_null(),
                Any::Bool(b) => bindings::qemu_monitor_layer_any_new_bool(b),
                Any::Int(i) => bindings::qemu_monitor_layer_any_new_int(i),
                Any::Uint(u) => bindings::qemu_monitor_layer_any_new_uint(u),
                Any::Number(n) => bindings::qemu_monitor_layer_any_new_number(n),
                Any::Str(s) => bindings::qemu_monitor_layer_any_new_str(s.as_ptr().cast(), s.len() as _),
                Any::List(values) => {
                    let list = bindings::qemu_monitor_layer_any_new_list();
                    for v in values {
                        bindings::qemu_monitor_layer_any_append(list, v.build());
                    }
                    list
                }
                Any::Dict(entries) => {
                    let dict = bindings::qemu_monitor_layer_any_new_dict();
                    for (k, v) in entries {
                        let key = GStr::new(&k);
                        bindings::qemu_monitor_layer_any_put(dict, key.as_ptr(), v.build());
                    }
                    dict
                }
            }
        }
    }

    /// Drops a reference to a QObject built by `Ret::into_c` (an event sender's
    /// member, once QEMU's sender returns).
    ///
    /// # Safety
    /// `o` is a reference of the caller's, not used again.
    pub unsafe fn release(o: *mut bindings::QObject) {
        // SAFETY: our contract.
        unsafe { bindings::qemu_monitor_layer_any_release(o) }
    }
}

impl<'a> Arg<'a, Required<*mut bindings::QObject>> for Any {
    unsafe fn from_c(
        c: Required<*mut bindings::QObject>,
        _: &'a Scope,
        member: &'static str,
    ) -> Result<Self, CommandError> {
        if c.0.is_null() {
            return Err(CommandError::new(format_args!("Parameter '{member}' is missing")));
        }
        // SAFETY: a non-NULL QObject as QAPI passes it, alive for the call (our contract).
        unsafe { Any::read(c.0, member) }
    }
}

// SAFETY: a new QObject reference (see `Any`'s `Ret`) or NULL, which a `'gen': false`
// command's dispatcher answers `{}`.
unsafe impl Ret for Option<Any> {
    type C = *mut bindings::QObject;
    fn into_c(self) -> *mut bindings::QObject {
        self.map_or(ptr::null_mut(), Any::build)
    }
    fn failed() -> *mut bindings::QObject {
        ptr::null_mut()
    }
    fn fault(&self) -> Option<Fault> {
        self.as_ref()?.fault()
    }
}

// SAFETY: `build` returns a new QObject reference, which QEMU's marshaller (or the
// struct's `qapi_free_*`) drops; NULL is what a failed call returns.
unsafe impl Ret for Any {
    type C = *mut bindings::QObject;
    fn into_c(self) -> *mut bindings::QObject {
        self.build()
    }
    fn failed() -> *mut bindings::QObject {
        ptr::null_mut()
    }
    fn fault(&self) -> Option<Fault> {
        Any::fault(self)
    }
}

/// What a command function returns, turned into what QAPI's marshaller expects.
///
/// # Safety
/// `into_c` returns what QEMU's marshaller may visit and free: NULL or memory from
/// glib's allocator laid out as the C type, every pointer in it owned likewise. An
/// `unsafe trait`, so no safe code can hand QEMU a pointer of its own making; the
/// generated code implements it for the schema's structs and lists.
pub unsafe trait Ret {
    /// The C return type.
    type C;
    /// The C value for a successful call.
    fn into_c(self) -> Self::C;
    /// The C value for a failed call (the error is in `errp`).
    fn failed() -> Self::C;
    /// The first value in it that cannot reach the client unchanged (a string with a
    /// NUL byte, a number that is not finite), with where it sits: [`reply`] refuses
    /// such a value whole instead of handing it over.
    fn fault(&self) -> Option<Fault> {
        None
    }
}

// SAFETY: nothing is handed over.
unsafe impl Ret for () {
    type C = ();
    fn into_c(self) {}
    fn failed() {}
}

// SAFETY: the string is glib's (`GStr`), NUL-terminated, and handed over whole: QAPI's
// marshaller frees what a `str`-returning handler returns with `g_free`; NULL is what a
// failed call returns.
unsafe impl Ret for GStr {
    type C = *mut c_char;
    fn into_c(self) -> *mut c_char {
        self.into_raw()
    }
    fn failed() -> *mut c_char {
        ptr::null_mut()
    }
    fn fault(&self) -> Option<Fault> {
        Fault::of_text(self.as_str())
    }
}

/// A node type of a QAPI list (C `FooList`: `next` and `value`). The generated code
/// implements it for each list type a declaration uses.
///
/// # Safety
/// `next` returns the address of the node's own `next` field, `set` stores a value QEMU's
/// `qapi_free_<List>` can free, and `free` is that function: [`List`]'s safe methods
/// write and free through them.
pub unsafe trait ListNode: Sized {
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
    /// What in `v` cannot reach the client unchanged (see [`Ret::fault`]).
    fn fault(v: &Self::Value) -> Option<Fault> {
        let _ = v;
        None
    }
}

/// A QAPI list built in glib memory, in the order values are pushed (the generated
/// `qapi::FooList` is `List<bindings::FooList>`). Returned by a command, or held by a
/// returned struct, it is QEMU's to free; dropped otherwise, QEMU's `qapi_free_<List>`
/// frees it here.
pub struct List<N: ListNode> {
    head: *mut N,
    tail: *mut N,
    len: usize,
    /// The first pushed value that cannot reach the client unchanged, by its index
    /// (values become C as they are pushed, so they are checked then).
    fault: Option<Fault>,
}

impl<N: ListNode> List<N> {
    /// The empty list (NULL to QEMU).
    pub const fn new() -> Self {
        List { head: ptr::null_mut(), tail: ptr::null_mut(), len: 0, fault: None }
    }

    /// Appends `v`.
    pub fn push(&mut self, v: N::Value) {
        if self.fault.is_none() {
            self.fault = N::fault(&v).map(|f| f.at_index(self.len));
        }
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

    /// The C list, still owned by `self` (an event sender's argument: QEMU's sender
    /// reads it and keeps nothing).
    pub fn as_ptr(&self) -> *mut N {
        self.head
    }

    /// The C list, handed over to QEMU (a leak unless QEMU frees it).
    pub fn into_raw(self) -> *mut N {
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

impl<N: ListNode> From<Vec<N::Value>> for List<N> {
    /// The values in order. QEMU's lists are linked, so each value moves into a node of
    /// its own (the values themselves are not copied).
    fn from(values: Vec<N::Value>) -> Self {
        values.into_iter().collect()
    }
}

// SAFETY: the nodes come from glib (`g_new0`) and hold what `ListNode::set` stores,
// which its implementation guarantees QEMU can free.
unsafe impl<N: ListNode> Ret for List<N> {
    type C = *mut N;
    fn into_c(self) -> *mut N {
        self.into_raw()
    }
    fn failed() -> *mut N {
        ptr::null_mut()
    }
    fn fault(&self) -> Option<Fault> {
        self.fault.clone()
    }
}

/// A NUL-terminated string allocated by glib, as QAPI structs and events hold them;
/// QEMU frees the ones it is given with `g_free`. It keeps the whole text it was made
/// from, NUL bytes included: handed over with one, it is refused ([`Ret::fault`]), not
/// cut where C would read its end.
pub struct GStr {
    ptr: *mut c_char,
    /// The text's length in bytes, without the terminating NUL.
    len: usize,
}

// SAFETY: a GStr owns its allocation exclusively; glib's allocator is thread-safe.
unsafe impl Send for GStr {}

impl GStr {
    /// A copy of `s`, all of it.
    pub fn new(s: &str) -> GStr {
        let len = s.len();
        // SAFETY: g_malloc never returns NULL (glib aborts when memory runs out); the
        // allocation has room for `len` bytes and the NUL; `s` is valid for `len` bytes
        // and cannot overlap a new allocation.
        let ptr = unsafe {
            let p: *mut u8 = bindings::g_malloc(len.wrapping_add(1) as _).cast();
            ptr::copy_nonoverlapping(s.as_ptr(), p, len);
            p.add(len).write(0);
            p
        };
        GStr { ptr: ptr.cast(), len }
    }

    /// The text, all of it (a NUL byte included, where C would stop reading).
    pub fn as_str(&self) -> &str {
        if self.ptr.is_null() {
            return "";
        }
        // SAFETY: `ptr` holds `len` initialised bytes we own, alive while `self` is.
        let bytes = unsafe { core::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) };
        // Made from a &str or a String, or checked as UTF-8 when taken from QEMU; the
        // fallback is not taken.
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// The pointer, still owned by `self`.
    pub fn as_ptr(&self) -> *const c_char {
        self.ptr
    }

    /// Gives up ownership: QEMU frees the pointer with `g_free`.
    pub fn into_raw(self) -> *mut c_char {
        let p = self.ptr;
        core::mem::forget(self);
        p
    }
}

impl From<String> for GStr {
    /// `s` itself, without a copy: its buffer is already glib's ([`GlibAlloc`]); a NUL
    /// is appended (which may grow the buffer in place).
    fn from(s: String) -> GStr {
        let len = s.len();
        let mut bytes = core::mem::ManuallyDrop::new(s.into_bytes());
        bytes.push(0);
        // The buffer came from the global allocator, `GlibAlloc` (align 1, so
        // `g_try_malloc`/`g_try_realloc`), and is NUL-terminated: g_free releases it.
        GStr { ptr: bytes.as_mut_ptr().cast(), len }
    }
}

impl Drop for GStr {
    fn drop(&mut self) {
        // SAFETY: the pointer came from glib's allocator and is freed once, here.
        unsafe { bindings::g_free(self.ptr.cast()) }
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
pub fn g_new0<T>() -> *mut T {
    // SAFETY: g_malloc0 returns zeroed memory of the size asked for, aligned for any C
    // type.
    unsafe { bindings::g_malloc0(core::mem::size_of::<T>() as _) }.cast()
}

/// The value a struct's C storage holds, moved out, the storage freed: a union's branch,
/// which QEMU's C embeds by value (`u.<branch>`), built as a struct of its own.
///
/// # Safety
/// `p` comes from [`g_new0`] (or `Ret::into_c`), holds a valid `T`, and is not used again.
pub unsafe fn g_unbox<T>(p: *mut T) -> T {
    // SAFETY: `p` is valid and holds a `T` (our contract); the value moves out whole, so
    // what it points to is now owned by the returned value alone.
    let value = unsafe { p.read() };
    // SAFETY: `p` came from glib's allocator (our contract) and is not used again.
    unsafe { bindings::g_free(p.cast()) };
    value
}

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

/// HMP arguments, read from the `QDict` the dispatcher parsed according to `args_type`.
pub struct HmpArgs(*const bindings::QDict);

impl HmpArgs {
    /// # Safety
    /// `qdict` is the dispatcher's argument dictionary, valid for the call.
    pub unsafe fn new(qdict: *const bindings::QDict) -> HmpArgs {
        HmpArgs(qdict)
    }

    /// A string argument (`s`, `S`, `F`, `B`, or an option `-xs`): NULL when absent, else borrowed
    /// from the dictionary for the call.
    pub fn str(&self, key: &CStr) -> *const c_char {
        // SAFETY: the dictionary is valid for the call (`new`'s contract); `key` is
        // NUL-terminated.
        unsafe { bindings::qdict_get_try_str(self.0, key.as_ptr()) }
    }

    /// A number argument (`T`, which monitor/hmp.c stores as a double): whether given, and
    /// its value.
    pub fn double(&self, key: &CStr) -> (bool, f64) {
        // SAFETY: as in `str`.
        let has = unsafe { bindings::qdict_haskey(self.0, key.as_ptr()) } != 0;
        if !has {
            return (false, 0.0);
        }
        // SAFETY: as in `str`; the key is present and the dispatcher stored a number
        // (qnum_from_double), which is what qdict_get_double asserts.
        (true, unsafe { bindings::qdict_get_double(self.0, key.as_ptr()) })
    }

    /// An integer argument (`i`, `l`, `M`, `o`): whether given, and its value.
    pub fn int(&self, key: &CStr) -> (bool, i64) {
        // SAFETY: as in `str`.
        let has = unsafe { bindings::qdict_haskey(self.0, key.as_ptr()) } != 0;
        // SAFETY: as in `str`; a missing key yields the default.
        (has, unsafe { bindings::qdict_get_try_int(self.0, key.as_ptr(), 0) })
    }

    /// A boolean argument (`b`, or a flag `-x`, absent when not given): whether given,
    /// and its value.
    pub fn bool(&self, key: &CStr) -> (bool, bool) {
        // SAFETY: as in `str`.
        let has = unsafe { bindings::qdict_haskey(self.0, key.as_ptr()) } != 0;
        // SAFETY: as in `str`; a missing key yields the default.
        (has, unsafe { bindings::qdict_get_try_bool(self.0, key.as_ptr(), false) })
    }
}

/// Whether the calling thread holds QEMU's big lock (`bql_locked()`; QEMU 7.2 calls it
/// `qemu_mutex_iothread_locked()`).
fn bql_held() -> bool {
    // SAFETY: the function reads a thread-local flag; it has no preconditions.
    #[cfg(qemu_bql_locked)]
    let held = unsafe { bindings::bql_locked() };
    // SAFETY: as above.
    #[cfg(not(qemu_bql_locked))]
    let held = unsafe { bindings::qemu_mutex_iothread_locked() };
    held
}

/// Why a [`BqlRefCell`] refused access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BqlError {
    /// The calling thread does not hold the BQL (an `allow-oob` command, or any thread but
    /// the main loop's).
    NotLocked,
    /// The value is already borrowed further up this call (a re-entrant use).
    Borrowed,
}

impl fmt::Display for BqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BqlError::NotLocked => "The command's state was used without QEMU's big lock (BQL) held",
            BqlError::Borrowed => "The command's state is already in use further up this call",
        })
    }
}

impl From<BqlError> for CommandError {
    #[track_caller]
    fn from(e: BqlError) -> CommandError {
        CommandError::new(e)
    }
}

/// State shared by a command's calls, as QEMU's own Rust keeps it (`BqlRefCell`,
/// rust/bql): every access checks that the calling thread holds the BQL, under which
/// QEMU runs every monitor command but `allow-oob` ones, and that the value is not
/// already borrowed. A refused access is an error the command returns, not a crash. It
/// is a borrow flag, not a lock: nothing ever waits on it.
pub struct BqlRefCell<T> {
    borrowed: Cell<bool>,
    value: UnsafeCell<T>,
}

// SAFETY: every access goes through `borrow_mut`, which checks that the calling thread
// holds the BQL; so at most one thread at a time touches `borrowed` and `value`, and the
// flag keeps a second `&mut` from being made while one lives. `T: Send` because the
// thread holding the BQL changes from one access to the next.
unsafe impl<T: Send> Sync for BqlRefCell<T> {}

impl<T> BqlRefCell<T> {
    pub const fn new(value: T) -> Self {
        BqlRefCell { borrowed: Cell::new(false), value: UnsafeCell::new(value) }
    }

    /// The value, exclusively, until the guard is dropped; refused without the BQL or
    /// while another guard lives.
    pub fn borrow_mut(&self) -> Result<BqlRefMut<'_, T>, BqlError> {
        if !bql_held() {
            return Err(BqlError::NotLocked);
        }
        if self.borrowed.replace(true) {
            return Err(BqlError::Borrowed);
        }
        Ok(BqlRefMut { cell: self, _not_send: PhantomData })
    }
}

/// Exclusive access to a [`BqlRefCell`]'s value. It stays on the thread that holds the
/// BQL (it is neither `Send` nor `Sync`).
pub struct BqlRefMut<'a, T> {
    cell: &'a BqlRefCell<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for BqlRefMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only borrow of the value (the flag) and the BQL
        // keeps other threads out (`borrow_mut`).
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for BqlRefMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only live reference.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for BqlRefMut<'_, T> {
    fn drop(&mut self) {
        self.cell.borrowed.set(false);
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
pub fn print_line(text: &str) -> Result<(), WriteError> {
    // An out-of-band command (the monitor's I/O thread) must not block on the stream.
    if !bql_held() {
        return Err(WriteError("refused without the BQL (an out-of-band command)"));
    }
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

/// A QAPI enum of QEMU's own modules (one a crate's schema includes, such as
/// `run-state.json`), as the generated `qapi::` enum implements it: what the [`vm`]
/// accessors that return QEMU's enums build their value with.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not one of QEMU's own enums",
    note = "vm::run_state() gives QEMU's RunState: include run-state.json in the schema \
            ({{ 'include': 'run-state.json' }}) and take it as qapi::RunState"
)]
pub trait QemuEnum: Copy {
    /// The enum's name in QEMU's schema.
    const NAME: &'static str;
    /// The value whose C value (QEMU's enum constant) is `c`.
    fn from_c_value(c: u32) -> Option<Self>;
}

/// Whether two strings are equal, at compile time.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The VM a command runs in: what QEMU's own queries report (`query-name`, `query-uuid`,
/// `query-status`, `query-memory-size-summary`, `query-cpus-fast`), and its character
/// devices to write to. Every function checks that the calling thread holds QEMU's big
/// lock, as every QMP command but an `allow-oob` one and every HMP command does, and
/// refuses with [`VmError::NotLocked`] otherwise; each returns owned values, so nothing
/// it gives can outlive what it was read from. Release differences (header moves,
/// renamed globals, the vCPU list) are the layer's, in `src/vm.c`.
pub mod vm {
    use super::*;

    /// Why the VM's state could not be read or a device written.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum VmError {
        /// The calling thread does not hold the BQL (an `allow-oob` command, another thread).
        NotLocked,
        /// QEMU reported a run state its schema does not have (never seen; a guard).
        UnknownRunState(u32),
        /// No character device has this id (QEMU's own wording, as `ringbuf-write` says it).
        ChardevNotFound(String),
        /// The device took fewer bytes than it was given (`written` of `len`).
        ChardevShortWrite { id: String, written: usize, len: usize },
        /// The device refused the write. (QEMU's chardev layer reports no cause: its
        /// I/O channel writes turn every error into EINVAL.)
        ChardevWriteFailed(String),
    }

    impl fmt::Display for VmError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                VmError::NotLocked => fmt::Display::fmt(&BqlError::NotLocked, f),
                VmError::UnknownRunState(s) => write!(f, "QEMU reported the unknown run state {s}"),
                VmError::ChardevNotFound(id) => write!(f, "Device '{id}' not found"),
                VmError::ChardevShortWrite { id, written, len } => {
                    write!(f, "Device '{id}' took {written} of {len} bytes")
                }
                VmError::ChardevWriteFailed(id) => write!(f, "Device '{id}' refused the write"),
            }
        }
    }

    impl From<VmError> for CommandError {
        #[track_caller]
        fn from(e: VmError) -> CommandError {
            CommandError::new(e)
        }
    }

    fn locked() -> Result<(), VmError> {
        if bql_held() { Ok(()) } else { Err(VmError::NotLocked) }
    }

    /// A string QEMU gave us with `g_malloc`, taken over as it is when it is UTF-8 (a
    /// [`GStr`] QEMU can be handed back without a copy), else copied with U+FFFD for
    /// the bad bytes and freed.
    ///
    /// # Safety
    /// `p` is NULL or a NUL-terminated string from glib's allocator, ours to free.
    unsafe fn take_string(p: *mut c_char) -> GStr {
        if p.is_null() {
            return GStr::new("");
        }
        // SAFETY: `p` is NUL-terminated and valid (our contract).
        let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
        if core::str::from_utf8(bytes).is_ok() {
            // A GStr is glib's NUL-terminated UTF-8 text, freed with g_free: this is one.
            return GStr { ptr: p, len: bytes.len() };
        }
        let copy = GStr::new(&String::from_utf8_lossy(bytes));
        // SAFETY: `p` is ours, from glib, freed once here.
        unsafe { bindings::g_free(p.cast()) };
        copy
    }

    /// The guest name given with `-name` (`query-name`'s `name`), if any.
    pub fn name() -> Result<Option<String>, VmError> {
        locked()?;
        // SAFETY: the BQL is held (checked above); the function reads a global.
        let p = unsafe { bindings::qemu_monitor_layer_vm_name() };
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: qemu_name is NUL-terminated, QEMU's, alive until exit; copied here.
        Ok(Some(String::from_utf8_lossy(unsafe { CStr::from_ptr(p) }.to_bytes()).into_owned()))
    }

    /// The VM's UUID as `query-uuid` prints it (all zeros when `-uuid` was not given).
    pub fn uuid() -> Result<GStr, VmError> {
        locked()?;
        // SAFETY: the BQL is held; the result is a g_malloc'd string we own.
        Ok(unsafe { take_string(bindings::qemu_monitor_layer_vm_uuid()) })
    }

    /// The run state (`query-status`'s `status`), as the crate's `qapi::RunState`,
    /// which exists when its schema includes QEMU's `run-state.json`. Any other type is
    /// a compile error.
    pub fn run_state<E: QemuEnum>() -> Result<E, VmError> {
        const {
            assert!(
                same(E::NAME, "RunState"),
                "vm::run_state() gives QEMU's RunState: include run-state.json in the schema \
                 and take it as qapi::RunState"
            )
        };
        locked()?;
        // SAFETY: the BQL is held; the function reads QEMU's run state.
        let c = unsafe { bindings::qemu_monitor_layer_vm_run_state() };
        E::from_c_value(c).ok_or(VmError::UnknownRunState(c))
    }

    /// Whether the VM runs (`query-status`'s `running`).
    pub fn is_running() -> Result<bool, VmError> {
        locked()?;
        // SAFETY: the BQL is held; the function reads QEMU's run state.
        Ok(unsafe { bindings::qemu_monitor_layer_vm_running() })
    }

    /// The VM's memory, as `query-memory-size-summary` reports it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Memory {
        /// Base RAM, in bytes (`-m`).
        pub base: u64,
        /// Memory in memory devices (DIMMs, virtio-mem), in bytes; `None` when the
        /// machine has no memory-device support.
        pub plugged: Option<u64>,
    }

    /// The VM's base and plugged memory.
    pub fn memory() -> Result<Memory, VmError> {
        locked()?;
        // SAFETY: the BQL is held; both read the machine and its memory devices.
        let (base, plugged) = unsafe {
            (bindings::qemu_monitor_layer_vm_base_memory(), bindings::qemu_monitor_layer_vm_plugged_memory())
        };
        Ok(Memory { base, plugged: (plugged != u64::MAX).then_some(plugged) })
    }

    /// One vCPU, as `query-cpus-fast` reports it.
    #[derive(Debug)]
    pub struct Cpu {
        /// `cpu-index`.
        pub index: i64,
        /// `qom-path`: the vCPU's canonical QOM path.
        pub qom_path: GStr,
        /// `thread-id`: the host thread that runs it.
        pub thread_id: i64,
    }

    /// The vCPUs, in QEMU's order (`query-cpus-fast`'s).
    pub fn cpus() -> Result<Vec<Cpu>, VmError> {
        locked()?;
        let empty = bindings::QemuMonitorLayerCpu { cpu_index: 0, thread_id: 0, qom_path: ptr::null_mut() };
        let mut raw = Vec::new();
        loop {
            // SAFETY: the BQL is held (no vCPU is plugged or unplugged meanwhile); `raw`
            // has room for `raw.len()` entries, which the function fills (at most).
            let n = unsafe { bindings::qemu_monitor_layer_vm_cpus(raw.as_mut_ptr(), raw.len()) };
            if n <= raw.len() {
                raw.truncate(n);
                break;
            }
            // Too few: free what was filled and ask again with room for all.
            for c in raw.iter_mut() {
                // SAFETY: a path the function filled in is g_malloc'd and ours.
                unsafe { take_string(core::mem::replace(&mut c.qom_path, ptr::null_mut())) };
            }
            raw = vec![empty; n];
        }
        Ok(raw
            .into_iter()
            .map(|c| Cpu {
                index: c.cpu_index,
                // SAFETY: filled in by the function: g_malloc'd, ours, taken once.
                qom_path: unsafe { take_string(c.qom_path) },
                thread_id: c.thread_id,
            })
            .collect())
    }

    /// Writes `bytes` to the character device `id` (`-chardev ...,id=ID`) as its
    /// frontend's output would go (a guest serial port's backend file, a ringbuf `ringbuf-read`
    /// reads). One write, which never blocks QEMU: a device that takes less (a socket
    /// whose reader is slow) or nothing fails the call, with what it took.
    pub fn write_chardev(id: &str, bytes: &[u8]) -> Result<(), VmError> {
        locked()?;
        let not_found = || VmError::ChardevNotFound(id.to_string());
        // An id with a NUL names no device.
        let c_id = std::ffi::CString::new(id).map_err(|_| not_found())?;
        // SAFETY: the BQL is held; `c_id` is NUL-terminated. The device found stays
        // alive while we hold the BQL (chardev-remove needs it too) and is not kept.
        let chr = unsafe { bindings::qemu_chr_find(c_id.as_ptr()) };
        if chr.is_null() {
            return Err(not_found());
        }
        let len = c_int::try_from(bytes.len()).map_err(|_| VmError::ChardevShortWrite {
            id: id.to_string(),
            written: 0,
            len: bytes.len(),
        })?;
        // SAFETY: `chr` is a live device (above); `bytes` is valid for `len` bytes. With
        // write_all false QEMU makes one write and never waits for the device.
        let n = unsafe { bindings::qemu_chr_write(chr, bytes.as_ptr(), len, false) };
        if n < 0 {
            return Err(VmError::ChardevWriteFailed(id.to_string()));
        }
        if n != len {
            return Err(VmError::ChardevShortWrite {
                id: id.to_string(),
                written: n as usize,
                len: bytes.len(),
            });
        }
        Ok(())
    }
}
