// SPDX-License-Identifier: GPL-2.0-or-later
//! QMP `hello-world` and its HMP twin (qapi/hello-world.json, qapi/hello-world.hx).

use crate::message;
use crate::prelude::*;

/// Prints `message` (or "Hello, world") as one line on QEMU's standard output.
pub fn hello_world(message: Option<&str>) -> Result<(), CommandError> {
    let line = message::line(message).map_err(CommandError::new)?;
    print_line(line)
        .map_err(|e| CommandError::new(format_args!("Cannot write the message to standard output: {e}")))
}
