// SPDX-License-Identifier: GPL-2.0-or-later
//! This crate's commands as a QMP client sends them, and the structs they return as it
//! reads them: generated from `qapi/` by the layer's build (`OUT_DIR/client.rs`), so a
//! test's call is the declaration's. Plus the constructors the tests share.

#![allow(dead_code)]

include!(concat!(env!("OUT_DIR"), "/client.rs"));

impl HelloWorld {
    /// The call that prints `message`.
    pub fn with(message: impl Into<String>) -> Self {
        HelloWorld { message: Some(message.into()), chardev: None }
    }

    /// The call that writes `message` to the character device `chardev`.
    pub fn to_chardev(message: impl Into<String>, chardev: impl Into<String>) -> Self {
        HelloWorld { message: Some(message.into()), chardev: Some(chardev.into()) }
    }
}
