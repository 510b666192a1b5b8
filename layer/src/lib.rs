// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU monitor commands written as safe Rust functions: the command layer's runtime.
//!
//! A command crate (a `staticlib` QEMU links into `qemu-system-*` through the series
//! `cargo xtask patches` writes) declares each command in `qapi/<command>.json` (and an
//! HMP form in `qapi/<command>.hx`), implements it by a safe function in
//! `src/commands/<command>.rs`, calls [`qemu-monitor-layer-build`]'s `generate()` from
//! its `build.rs`, and includes the result with [`commands!`]:
//!
//! ```ignore
//! // src/lib.rs of a command crate
//! #![no_std]
//! qemu_monitor_layer::commands!();
//! ```
//!
//! What the layer guarantees, for code without `unsafe` (command files are compiled
//! under `#[forbid(unsafe_code)]`):
//!
//! - a borrowed argument cannot outlive the call (it is lent for a borrow of a scope the
//!   generated handler owns);
//! - arguments bind to schema members by name; a parameter of the wrong type, name or
//!   order is a compile error or a build-time refusal naming the file and member;
//! - each handler has exactly the type of QEMU's generated C prototype (proven against
//!   bindgen at compile time);
//! - state shared between calls lives in a [`BqlRefCell`](prelude::BqlRefCell), which
//!   checks QEMU's big lock and refuses re-entrant use with an error, never a crash;
//! - a declaration the layer does not carry out is refused at build time, never dropped.
//!
//! [`qemu-monitor-layer-build`]: ../qemu_monitor_layer_build/index.html

#![cfg_attr(not(test), no_std)]
// `CommandError` carries its text in a fixed 512-byte buffer (the library has no
// allocator); a successful call only writes the discriminant, so the size costs nothing
// on the path that matters.
#![allow(clippy::result_large_err)]

pub mod error;
pub mod error_text;
pub mod text;

#[cfg(not(test))]
mod ffi;
#[cfg(not(test))]
mod sys;

/// What a command function needs, and nothing unsafe.
#[cfg(not(test))]
pub mod prelude {
    pub use crate::error::CommandError;
    pub use crate::ffi::{BqlError, BqlRefCell, BqlRefMut, GStr, Monitor, WriteError, print_line};
    pub use crate::text::ParamError;
}

/// What the generated glue names; not for command code (it is never in scope there:
/// command files see [`prelude`] only). Every function here that takes or returns a raw
/// pointer is `unsafe`, or only allocates.
#[doc(hidden)]
#[cfg(not(test))]
pub mod __private {
    pub use crate::error::CommandError;
    pub use crate::ffi::{
        Arg, GStr, HmpArgs, List, ListNode, Monitor, Optional, Required, Ret, Scope, abort, g_new0,
        hmp_reply, reply,
    };
    pub use core::ffi::{CStr, c_char, c_int};
    pub use core::ptr;

    /// QEMU's types the layer's functions take, which a command crate's bindings re-use.
    pub mod sys {
        pub use crate::sys::{Error, Monitor, QDict};
    }
}

/// Includes a command crate's generated code (from its `build.rs`, which calls
/// `qemu_monitor_layer_build::generate()`): the modules `commands` (one per
/// `src/commands/<command>.rs`, each under `#[forbid(unsafe_code)]`) and `prelude` (the
/// layer's prelude and the schema's `qapi` types, what a command file `use`s), the
/// private handlers QEMU calls, and the library's panic handler (so a command crate
/// compiles it under `#[cfg(not(test))]`: its unit tests use std's).
#[macro_export]
macro_rules! commands {
    () => {
        /// Declarations bindgen generated from QEMU's headers for this crate's commands.
        #[allow(
            dead_code,
            non_camel_case_types,
            non_snake_case,
            non_upper_case_globals,
            unnecessary_transmutes,
            clippy::all
        )]
        mod bindings {
            include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
        }

        /// The command functions: `src/commands/<command>.rs`, one module per declared
        /// command (the module list is generated from `qapi/`).
        pub mod commands {
            include!(concat!(env!("OUT_DIR"), "/commands.rs"));
        }

        /// The handlers QEMU calls, generated from `qapi/`, each proven against
        /// bindgen's prototype; the schema's types and event senders.
        mod ffi {
            #[allow(unused_imports)]
            use super::bindings;
            #[allow(unused_imports)]
            use $crate::__private::*;
            include!(concat!(env!("OUT_DIR"), "/glue.rs"));
        }

        /// Last resort: the layer and the generated handlers are written not to panic; if
        /// anything ever did, abort rather than unwind into C.
        #[panic_handler]
        fn panic(_: &::core::panic::PanicInfo<'_>) -> ! {
            $crate::__private::abort()
        }

        /// What a command function needs, and nothing unsafe.
        pub mod prelude {
            pub use super::ffi::qapi;
            pub use $crate::prelude::*;
        }
    };
}
