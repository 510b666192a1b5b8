// SPDX-License-Identifier: GPL-2.0-or-later
//! HMP arguments from the dispatcher's `QDict`.

#[allow(unused_imports)]
use super::*;

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
