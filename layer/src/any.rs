// SPDX-License-Identifier: GPL-2.0-or-later
//! [`Any`]: QAPI's `any`, a JSON value, as plain Rust data. Reading one from QEMU's
//! QObject and building one are the FFI's (`ffi/any.rs`); what here is safe code only.

use std::collections::BTreeMap;

use crate::fault::Fault;

/// QAPI's `any`: a JSON value, as a command reads it (an argument, a member of one) and
/// builds it (a return value, a member of one, an event's member). Reading copies
/// QEMU's QObject into Rust values, so nothing borrows from it; building makes a new
/// QObject that QEMU owns and frees. A number is `Int` when it fits `i64`, else `Uint`
/// when it fits `u64`, else `Number`, as QEMU's QNum keeps it.
///
/// Returned or sent, a value holding a string or key with a NUL byte, or a `Number`
/// that is NaN or infinite, is refused with an error naming where it sits
/// ([`crate::fault`]): JSON and QEMU's strings cannot carry it.
#[derive(Debug, Clone, PartialEq)]
pub enum Any {
    /// JSON's `null` (QEMU's QNull).
    Null,
    /// `true` or `false` (QBool).
    Bool(bool),
    /// A number that fits `i64` (QNum).
    Int(i64),
    /// A number above `i64::MAX` that fits `u64` (QNum).
    Uint(u64),
    /// Any other number (QNum's double); NaN and infinities are refused when sent.
    Number(f64),
    /// A string (QString); one with a NUL byte is refused when sent.
    Str(String),
    /// An array (QList).
    List(Vec<Any>),
    /// An object (QDict), its keys sorted.
    Dict(BTreeMap<String, Any>),
}

impl Any {
    /// The first value in it, in order, that cannot cross into QEMU unchanged.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            Any::Number(x) => Fault::of_number(*x),
            Any::Str(s) => Fault::of_text(s),
            Any::List(values) => values.iter().enumerate().find_map(|(i, v)| Some(v.fault()?.at_index(i))),
            Any::Dict(entries) => {
                entries.iter().find_map(|(k, v)| Fault::of_key(k).or_else(|| Some(v.fault()?.in_member(k))))
            }
            Any::Null | Any::Bool(_) | Any::Int(_) | Any::Uint(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_that_cannot_cross_is_named_by_its_place() {
        let ok = Any::Dict(BTreeMap::from([
            ("n".to_string(), Any::Number(0.5)),
            ("s".to_string(), Any::List(vec![Any::Str("fine".into()), Any::Null])),
        ]));
        assert_eq!(ok.fault(), None);
        let bad = Any::Dict(BTreeMap::from([
            ("a".to_string(), Any::Int(1)),
            (
                "b".to_string(),
                Any::List(vec![
                    Any::Null,
                    Any::Dict(BTreeMap::from([("x".into(), Any::Str("e\0f".into()))])),
                ]),
            ),
            ("c".to_string(), Any::Number(f64::INFINITY)),
        ]));
        assert_eq!(bad.fault().unwrap().path(), "b[1].x");
        let nan = Any::List(vec![Any::Number(1.0), Any::Number(f64::NAN)]);
        assert_eq!(nan.fault().unwrap().to_string(), "member '[1]' is NaN, which JSON cannot write");
        let key = Any::Dict(BTreeMap::from([("k\0".to_string(), Any::Null)]));
        assert_eq!(key.fault().unwrap().path(), "k\\0");
        assert_eq!(Any::Str("c\0d".into()).fault().unwrap().path(), "");
    }
}
