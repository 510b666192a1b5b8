// SPDX-License-Identifier: GPL-2.0-or-later
//! Arguments as QAPI passes them (`Arg`), lent for the call's `Scope`: strings, scalars, received structs and lists.

#[allow(unused_imports)]
use super::*;

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
