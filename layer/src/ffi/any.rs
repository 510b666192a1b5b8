// SPDX-License-Identifier: GPL-2.0-or-later
//! QAPI's `any` across the boundary: an `Any` read from QEMU's QObject, and built into one.

#[allow(unused_imports)]
use super::*;

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
                        let key = GString::new(&k);
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
