// SPDX-License-Identifier: GPL-2.0-or-later
//! QMP `hello-world`, its HMP twin and the `HELLO_WORLD` event (qapi/hello-world.json,
//! qapi/hello-world.hx).

use crate::message;
use crate::prelude::*;
use crate::stats::Stats;

/// What hello-world has done since QEMU started (`query-hello-world` reads it), reached
/// only with the call's proof that QEMU's big lock is held (`Bql`).
pub static STATS: BqlRefCell<Stats<GString>> = BqlRefCell::new(Stats::new());

/// Prints `message` (or "Hello, world") as one line on QEMU's standard output, or
/// writes it to the character device `chardev`, then sends `HELLO_WORLD` with the
/// printed text (and the device).
///
/// The arguments arrive undecoded (`Result`) so that a refusal by the command layer
/// (text that is not UTF-8, or QEMU's encoding of `\u0000`) is counted like any other.
pub fn hello_world(
    bql: Bql<'_>,
    message: Option<Result<&str, ParamError>>,
    chardev: Option<Result<&str, ParamError>>,
) -> Result<(), CommandError> {
    let mut stats = STATS.borrow_mut(bql)?;
    let checked = message.transpose().and_then(message::line).and_then(|l| Ok((l, chardev.transpose()?)));
    let (line, chardev) = match checked {
        Ok(checked) => checked,
        Err(refused) => {
            stats.refused();
            return Err(CommandError::new(refused));
        }
    };
    match chardev {
        None => {
            if let Err(e) = print_line(bql, line) {
                stats.failed_write();
                return Err(CommandError::new(format_args!(
                    "Cannot write the message to standard output: {e}"
                )));
            }
        }
        Some(id) => {
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            match vm::write_chardev(bql, id, &bytes) {
                Ok(()) => {}
                Err(e @ VmError::ChardevNotFound(_)) => {
                    stats.refused();
                    return Err(e.into());
                }
                Err(e) => {
                    stats.failed_write();
                    return Err(e.into());
                }
            }
        }
    }
    let previous = stats.printed(GString::new(line));
    drop(stats);
    drop(previous);
    qapi::send_hello_world(line, chardev)?;
    Ok(())
}
