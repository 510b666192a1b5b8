// SPDX-License-Identifier: GPL-2.0-or-later
//! The generator of [`qemu-monitor-layer`], as `cxx-gen` is `cxx`'s: what
//! `qemu-monitor-layer-build`'s `generate()` runs, and what the project's driver uses
//! beside it (coverage of QEMU's whole schema, the HMP reader, a new command's
//! signature).
//!
//! A pipeline, each stage depending only on the ones before it:
//!
//! 1. [`model`] (and `names`, how its names are spelled in Rust): the schema as QEMU's own QAPI front end reads it, and the HMP entries
//!    ([`hx`]);
//! 2. checks (`check`): what the layer carries, and the command functions' signatures,
//!    every refusal a [`diagnostic::Diagnostic`] naming the file, the entity and the part
//!    (member, alternative, parameter...), all of a run reported together;
//! 3. lowering (`lower`): each schema type to the shape the generated Rust has (how a member
//!    crosses the C boundary, lists, unions, alternates, conditions);
//! 4. writers (`write`): the syntax trees of the handlers, types and senders, printed.
//!
//! [`pipeline::generate`] runs the stages; [`build`] is what a build script needs around
//! it (the configured QEMU tree, bindgen, `cfg`s from QEMU's configuration).
//!
//! [`qemu-monitor-layer`]: ../qemu_monitor_layer/index.html

#![deny(missing_docs)]

pub mod build;
mod check;
mod client;
pub mod coverage;
pub mod diagnostic;
pub mod hx;
mod lower;
#[doc(hidden)]
pub mod model;
mod names;
#[doc(hidden)]
pub mod pipeline;
pub mod tree;
mod write;

pub use build::{DEFAULT_QEMU_VERSION, Tree, fail};
pub use check::Flavour;
pub use names::rust_ident;
