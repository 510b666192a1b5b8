// SPDX-License-Identifier: GPL-2.0-or-later
//! The command layer's C side: every `unsafe` block of the crate, one module per
//! concern (each file below starts with what it holds).
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
//! - [`GString`]: a string owned by glib's allocator, for struct members and events.
//! - [`Monitor`]: the calling human monitor, written to with `core::fmt`.
//! - [`print_line`]: one whole line on C's `stdout`, flushed, or the error that stopped it.
//! - [`Bql`]: the call's proof that QEMU's big lock is held, which [`BqlRefCell`],
//!   [`print_line`] and [`vm`] take, so an `allow-oob` command cannot reach them.
//!
//! - [`GlibAlloc`]: Rust's heap (`String`, `Vec`, `format!`) on glib's allocator, so a
//!   `String` becomes a [`GString`] QEMU frees with `g_free`, without a copy.
//!
//! No panic can unwind into C: each handler runs its command inside
//! [`guard`](crate::boundary::guard), which turns a panic into the call's error.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::{CStr, c_char, c_int};
use core::fmt::{self, Write};
use core::marker::PhantomData;
use core::ptr;

use crate::any::Any;
use crate::error::CommandError;
use crate::error_text::ErrorText;
use crate::fault::Fault;
use crate::sys as bindings;
use crate::text::{self, ParamError};

mod alloc;
mod any;
mod args;
mod bql;
mod hmp;
mod list;
mod output;
mod qemu_enum;
mod reply;
mod ret;
mod storage;
mod string;
pub mod vm;

pub use alloc::*;
pub use args::*;
pub use bql::*;
pub use hmp::*;
pub use list::*;
pub use output::*;
pub use qemu_enum::*;
pub use reply::*;
pub use ret::*;
pub use storage::*;
pub use string::*;
