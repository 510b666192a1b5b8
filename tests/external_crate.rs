// SPDX-License-Identifier: GPL-2.0-or-later
//! The layer serves a command crate that is not this repository: a minimal crate in a
//! temporary directory (its own `Cargo.toml` depending on `layer/` and `layer-build/` by
//! path, its own `qapi/` and one command returning a struct, with state kept between
//! calls) is scaffolded with `cargo xtask --crate DIR new-command`, its series written
//! with `cargo xtask --crate DIR patches`, and QEMU built with its library by `cargo
//! xtask --crate DIR build`; then its command is called over QMP, and the hello-world
//! family, which that QEMU does not carry, is an unknown command there.
//!
//! It builds QEMU in the temporary directory (ccache makes that a few minutes), so
//! `cargo xtask test` runs it once, for the default release (`--ignored`), with the
//! xtask binary in `QEMU_HELLO_XTASK`.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::commands::HelloWorld;
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

[profile.dev]
panic = "abort"

[profile.release]
panic = "abort"
lto = true
codegen-units = 1

# Not a member of any workspace above the temporary directory.
[workspace]
"#;

const BUILD_RS: &str = "fn main() {\n    qemu_monitor_layer_build::generate();\n}\n";

const LIB_RS: &str =
    "#![cfg_attr(not(test), no_std)]\n\n#[cfg(not(test))]\nqemu_monitor_layer::commands!();\n";

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

pub fn greet(name: Option<&str>) -> Result<qapi::GreetInfo, CommandError> {
    let mut count = COUNT.borrow_mut()?;
    *count += 1;
    Ok(qapi::GreetInfo { greeting: GStr::new(name.unwrap_or(\"world\")), count: *count })
}
";

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
    let mut cmd = Command::new(exe);
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
    let built = run(xtask(krate).args(["build", "--qemu", &version]));
    let binary = PathBuf::from(built.lines().last().expect("build prints the binary's path"));
    assert!(
        binary.starts_with(krate.canonicalize().unwrap()),
        "{} is not the crate's build",
        binary.display()
    );

    let mut vm = Qemu::start(&binary, &Options::default()).expect("QEMU starts");
    let mut qmp = vm.qmp().expect("handshake");
    assert_eq!(qmp.execute(&Greet::default()).expect("greet"), json!({ "greeting": "world", "count": 1 }));
    let named = Greet { name: Some("QEMU".into()) };
    assert_eq!(qmp.execute(&named).expect("greet QEMU"), json!({ "greeting": "QEMU", "count": 2 }));
    match qmp.execute(&HelloWorld::default()) {
        Err(ExecuteError::Qapi(e)) => assert_eq!(e.class, ErrorClass::CommandNotFound, "{}", e.desc),
        other => panic!("hello-world in a QEMU built with another crate: {other:?}"),
    }
    assert!(vm.is_running());
}
