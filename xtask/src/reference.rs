// SPDX-License-Identifier: GPL-2.0-or-later
//! The C reference of `cargo xtask bench` (`bench/hello-world.c`): the same commands,
//! event and contract as the Rust library, in C. It is compiled with exactly the flags
//! QEMU's build compiles `monitor/hmp-cmds.c` with (from the tree's
//! `compile_commands.json`), warnings as errors, and archived; the reference emulator
//! links that archive through the series' `--monitor-rust-lib` option where the product
//! links the staticlib, so the two binaries differ only in the library.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::qemu::Layout;
use crate::sh;

/// The reference's source.
pub fn source() -> PathBuf {
    sh::root().join("bench/hello-world.c")
}

/// The command QEMU's build compiles `monitor/hmp-cmds.c` with, split into words (meson
/// writes no quoted arguments for it), without its dependency-file, output and input
/// arguments.
fn qemu_flags(build: &Path) -> Result<Vec<String>> {
    let path = build.join("compile_commands.json");
    let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text)?;
    let command = entries
        .iter()
        .find(|e| e["file"].as_str().is_some_and(|f| f.ends_with("monitor/hmp-cmds.c")))
        .and_then(|e| e["command"].as_str())
        .with_context(|| format!("{} has no entry for monitor/hmp-cmds.c", path.display()))?;
    if command.contains(['\'', '"', '\\']) {
        bail!("the compile command of monitor/hmp-cmds.c has quoted words: {command}");
    }
    let mut words = command.split_whitespace();
    let mut out = Vec::new();
    while let Some(w) = words.next() {
        match w {
            "-MD" => {}
            "-MQ" | "-MF" | "-o" | "-c" => {
                words.next();
            }
            _ => out.push(w.to_string()),
        }
    }
    Ok(out)
}

/// Compiles the reference against `l`'s configured and generated tree into `object`.
pub fn compile(l: &Layout, object: &Path) -> Result<()> {
    let flags = qemu_flags(&l.build)?;
    let (compiler, args) = flags.split_first().context("empty compile command")?;
    sh::run(
        tools::built(compiler)
            .current_dir(&l.build)
            .args(args)
            .arg("-Werror")
            .arg("-o")
            .arg(object)
            .arg("-c")
            .arg(source()),
    )
    .with_context(|| format!("{} does not compile against QEMU {}", source().display(), l.version.name))
}

/// Compiles the reference and archives it at `l.staticlib()`; the archive is replaced
/// only when its bytes change, so an unchanged reference does not relink QEMU.
pub fn build_archive(l: &Layout) -> Result<()> {
    sh::step("compiling the C reference (bench/hello-world.c) with QEMU's own flags");
    let dir = tempfile::tempdir()?;
    let object = dir.path().join("hello-world.o");
    let archive = dir.path().join("lib.a");
    compile(l, &object)?;
    // `D`: zero timestamps and owners, so the same object gives the same bytes.
    sh::run(tools::command("ar")?.arg("rcsD").arg(&archive).arg(&object))?;
    let target = l.staticlib();
    let new = fs::read(&archive)?;
    if fs::read(&target).ok().as_deref() != Some(&new[..]) {
        fs::write(&target, new)?;
    }
    Ok(())
}
