// SPDX-License-Identifier: GPL-2.0-or-later
//! The layer serves a command crate that is not this repository, in a QEMU that carries
//! its own Rust as well: a minimal crate in a temporary directory (its own `Cargo.toml`
//! depending on `layer/` and `layer-build/` by path, its own `qapi/` and one command
//! returning a struct, with state kept between calls) is scaffolded with `cargo xtask
//! --crate DIR new-command`, its series written with `cargo xtask --crate DIR patches`,
//! and QEMU 10.2.2 built with its library *and* `--enable-rust` by `cargo xtask --crate
//! DIR build --with-qemu-rust`. Then:
//!
//! - the emulator holds both Rust libraries: the crate's handlers, and QEMU's Rust HPET
//!   (`hpet::device::HPETState`) instead of the C one, each with its own copy of the
//!   Rust standard library (the crate's object keeps only its handlers global);
//! - QEMU's Rust HPET works: through QEMU's qtest protocol on a `pc` machine, its
//!   capabilities read as an HPET's (vendor 8086h, three 64-bit timers, legacy routing,
//!   a 10 ns period) and, once enabled, its main counter advances by exactly 100,000
//!   ticks in 1 ms of virtual time;
//! - the crate's command answers over QMP; a panic in it (an `unwrap` on `None`) is that
//!   call's error reply, and the next call works; the hello-world family, which that QEMU
//!   does not carry, is an unknown command there.
//!
//! It builds QEMU in the temporary directory (about 10 minutes: QEMU's Rust changes
//! config-host.h, so ccache helps only from the second run), so `cargo xtask test` runs it
//! once, for the default release (`--ignored`), with the xtask binary in
//! `QEMU_HELLO_XTASK`.

#[path = "common/client.rs"]
mod client;

use client::HelloWorld;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::qapi::{ErrorClass, ExecuteError};
use harness::repo::stdout_of as run;
use harness::{Options, Qemu};
use serde::Serialize;
use serde_json::{Value, json};

/// The crate's manifest; `@ROOT@` is this repository.
const CARGO_TOML: &str = r#"[package]
name = "greeter"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["staticlib"]

[dependencies]
qemu-monitor-layer = { path = "@ROOT@/layer" }

[build-dependencies]
qemu-monitor-layer-build = { path = "@ROOT@/layer-build" }

[profile.release]
lto = true
codegen-units = 1

# Not a member of any workspace above the temporary directory.
[workspace]
"#;

const BUILD_RS: &str = "fn main() {\n    qemu_monitor_layer_build::generate();\n}\n";

const LIB_RS: &str = "#[cfg(not(test))]\nqemu_monitor_layer::commands!();\n";

const GREET_JSON: &str = "##
# @GreetInfo:
#
# What @greet said.
#
# @greeting: whom it greeted
#
# @count: how many times @greet has been called
#
# Since: 10.2
##
{ 'struct': 'GreetInfo', 'data': { 'greeting': 'str', 'count': 'int' } }

##
# @greet:
#
# Greet @name, or the world.
#
# @name: whom to greet
#
# Since: 10.2
#
# .. qmp-example::
#
#     -> { \"execute\": \"greet\", \"arguments\": { \"name\": \"QEMU\" } }
#     <- { \"return\": { \"greeting\": \"QEMU\", \"count\": 1 } }
##
{ 'command': 'greet', 'data': { '*name': 'str' }, 'returns': 'GreetInfo' }
";

const GREET_RS: &str = "use crate::prelude::*;

static COUNT: BqlRefCell<i64> = BqlRefCell::new(0);

pub fn greet(bql: Bql<'_>, name: Option<&str>) -> Result<qapi::GreetInfo, CommandError> {
    let mut count = COUNT.borrow_mut(bql)?;
    *count += 1;
    let mut letters = name.unwrap_or(\"world\").chars();
    // An empty name panics here, with the count borrowed: the call answers with the
    // panic, and the borrow is given back as it unwinds.
    let first = letters.next().unwrap();
    let greeting = format!(\"{}{}\", first.to_uppercase(), letters.as_str());
    Ok(qapi::GreetInfo { greeting: greeting.into(), count: *count })
}
";

/// QEMU's Rust HPET on a `pc` machine, driven through QEMU's qtest protocol (the
/// accelerator QEMU's own device tests use): registers read and written at 0xfed00000.
fn hpet_works(binary: &Path) {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("qtest.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let mut qemu = tools::built(binary)
        .args(["-M", "pc", "-accel", "qtest", "-display", "none", "-nodefaults", "-qtest"])
        .arg(format!("unix:{}", sock.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("QEMU starts");
    let (stream, _) = listener.accept().expect("QEMU connects to the qtest socket");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut ask = |line: &str| -> String {
        writeln!(writer, "{line}").unwrap();
        loop {
            let mut reply = String::new();
            assert!(reader.read_line(&mut reply).unwrap() > 0, "qtest closed on {line:?}");
            // Replies start with OK or FAIL; IRQ notices start with IRQ.
            if reply.starts_with("OK") || reply.starts_with("FAIL") || reply.starts_with("ERR") {
                return reply.trim().to_string();
            }
        }
    };
    let value = |reply: String| -> u64 {
        let hex = reply.strip_prefix("OK 0x").unwrap_or_else(|| panic!("qtest: {reply}"));
        u64::from_str_radix(hex, 16).unwrap()
    };
    // General capabilities: revision 1, three timers (2 in bits 8-12), 64-bit counter,
    // legacy routing, vendor 8086h; then the period in femtoseconds (10 ns).
    assert_eq!(value(ask("readl 0xfed00000")), 0x8086_a201, "HPET capabilities");
    assert_eq!(value(ask("readl 0xfed00004")), 10_000_000, "HPET counter period (fs)");
    assert_eq!(ask("writel 0xfed00010 0x1"), "OK", "enabling the HPET");
    let before = value(ask("readq 0xfed000f0"));
    assert_eq!(ask("clock_step 1000000"), "OK 1000000");
    let after = value(ask("readq 0xfed000f0"));
    assert_eq!(after - before, 100_000, "HPET ticks in 1 ms of virtual time at 10 ns each");
    let _ = qemu.kill();
    let _ = qemu.wait();
}

#[derive(Serialize, Debug, Default)]
struct Greet {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl harness::qapi::Command for Greet {
    type Ok = Value;
    const NAME: &'static str = "greet";
    const ALLOW_OOB: bool = false;
}

fn xtask(krate: &Path) -> Command {
    let exe = std::env::var_os("QEMU_HELLO_XTASK")
        .expect("QEMU_HELLO_XTASK names the xtask binary (cargo xtask test sets it; it runs this test)");
    let mut cmd = tools::built(exe);
    cmd.arg("--crate").arg(krate).env_remove("CARGO_TARGET_DIR");
    cmd
}

#[test]
#[ignore = "builds QEMU for a crate in a temporary directory; cargo xtask test runs it for the default release"]
fn a_crate_of_its_own_builds_against_the_layer_and_answers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let version = std::env::var("QEMU_HELLO_SERIES").expect("cargo xtask test sets QEMU_HELLO_SERIES");
    let dir = tempfile::Builder::new().prefix("greeter-").tempdir().unwrap();
    let krate = dir.path();
    let write = |rel: &str, text: &str| {
        let path = krate.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("Cargo.toml", &CARGO_TOML.replace("@ROOT@", &root.display().to_string()));
    write("build.rs", BUILD_RS);
    write("src/lib.rs", LIB_RS);
    std::fs::create_dir(krate.join("qapi")).unwrap();
    // The same dependency versions as this repository's (no resolution on the network).
    std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();

    run(xtask(krate).args(["new-command", "greet"]));
    assert!(krate.join("src/commands/greet.rs").is_file(), "new-command wrote the function's file");
    write("qapi/greet.json", GREET_JSON);
    write("src/commands/greet.rs", GREET_RS);
    run(xtask(krate).args(["patches", "--qemu", &version]));
    let series: Vec<PathBuf> = std::fs::read_dir(krate.join("qemu-patches").join(&version))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "patch"))
        .collect();
    assert_eq!(series.len(), 2, "the series: the meson option and greet's schema entry: {series:?}");
    let start = std::time::Instant::now();
    let built = run(xtask(krate).args(["build", "--qemu", &version, "--with-qemu-rust"]));
    eprintln!("QEMU with the crate and its own Rust built in {:.0} s", start.elapsed().as_secs_f64());
    let binary = PathBuf::from(built.lines().last().expect("build prints the binary's path"));
    assert!(
        binary.starts_with(krate.canonicalize().unwrap()),
        "{} is not the crate's build",
        binary.display()
    );

    // Both Rust libraries are in the emulator.
    let symbols = run(tools::cmd("nm").arg(&binary));
    let defined = |kind: &str, name: &str| symbols.lines().any(|l| l.ends_with(&format!(" {kind} {name}")));
    assert!(defined("T", "qmp_greet"), "the crate's handler is not in the emulator");
    assert!(
        defined("T", "rust_eh_personality"),
        "no global rust_eh_personality: QEMU's Rust std is not linked"
    );
    assert!(
        defined("t", "rust_eh_personality"),
        "no local rust_eh_personality: the crate's own std is not in the emulator, or not sealed"
    );
    assert!(symbols.contains("hpet6device9HPETState"), "QEMU's Rust HPET is not in the emulator");
    assert!(
        !defined("t", "hpet_ram_read") && !defined("T", "hpet_ram_read"),
        "the C HPET is in the emulator"
    );
    hpet_works(&binary);

    let mut vm = Qemu::start(&binary, &Options::default()).expect("QEMU starts");
    let mut qmp = vm.qmp().expect("handshake");
    assert_eq!(qmp.execute(&Greet::default()).expect("greet"), json!({ "greeting": "World", "count": 1 }));
    let named = Greet { name: Some("QEMU".into()) };
    assert_eq!(qmp.execute(&named).expect("greet QEMU"), json!({ "greeting": "QEMU", "count": 2 }));
    // A panic in the crate's command, with QEMU's own standard library in the binary too:
    // the layer's boundary catches it, and the next call finds the state as it was left.
    match qmp.execute(&Greet { name: Some(String::new()) }) {
        Err(ExecuteError::Qapi(e)) => {
            assert_eq!(e.class, ErrorClass::GenericError);
            let line = GREET_RS.lines().position(|l| l.contains(".unwrap()")).unwrap() + 1;
            let at = format!("command 'greet' panicked at src/commands/greet.rs:{line}:");
            assert!(e.desc.starts_with(&at), "{}", e.desc);
            assert!(e.desc.ends_with(": called `Option::unwrap()` on a `None` value"), "{}", e.desc);
        }
        other => panic!("greet with an empty name: {other:?}"),
    }
    let named = Greet { name: Some("élan".into()) };
    assert_eq!(qmp.execute(&named).expect("greet élan"), json!({ "greeting": "Élan", "count": 4 }));
    match qmp.execute(&HelloWorld::default()) {
        Err(ExecuteError::Qapi(e)) => assert_eq!(e.class, ErrorClass::CommandNotFound, "{}", e.desc),
        other => panic!("hello-world in a QEMU built with another crate: {other:?}"),
    }
    assert!(vm.is_running());
}
