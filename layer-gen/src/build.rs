// SPDX-License-Identifier: GPL-2.0-or-later
//! What a command crate's build script runs (through `qemu-monitor-layer-build`'s
//! `generate()`), and what the layer's own build script and the driver share with it:
//! the configured QEMU tree, bindgen over its headers, its configuration as `cfg`s.

use crate::check::Flavour;
use crate::{hx, model, pipeline, tree};

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The QEMU release whose build tree is used when `QEMU_BUILD_DIR` is unset.
pub const DEFAULT_QEMU_VERSION: &str = "10.2.2";

/// Generates the command crate's glue, commands and bindings into `OUT_DIR`; stops the
/// build with a message naming the file, command and member on anything it refuses.
pub fn generate() {
    generate_flavour(Flavour::Monitor);
}

/// [`generate`] for a crate of guest agent commands, linked into `qemu-ga`: against the
/// agent's generated headers (`qga/qga-qapi-*.h`), under `CONFIG_AGENT_RUST_LIB`
/// (`--agent-rust-lib`); an HMP entry, an event, a type of QEMU's monitor schema or a
/// function taking the `Bql` token is refused by name.
pub fn generate_agent() {
    generate_flavour(Flavour::Agent);
}

/// What differs between the two programs a crate's commands link into.
struct Program {
    /// The generated header every handler's prototype is in.
    header: &'static str,
    /// The macro the series declares the commands under, and the configure option
    /// that sets it.
    condition: &'static str,
    option: &'static str,
}

impl Program {
    fn of(flavour: Flavour) -> Program {
        match flavour {
            Flavour::Monitor => Program {
                header: "qapi/qapi-commands-misc.h",
                condition: "CONFIG_MONITOR_RUST_LIB",
                option: "--monitor-rust-lib",
            },
            Flavour::Agent => Program {
                header: "qga/qga-qapi-commands.h",
                condition: "CONFIG_AGENT_RUST_LIB",
                option: "--agent-rust-lib",
            },
        }
    }
}

fn generate_flavour(flavour: Flavour) {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo::rerun-if-changed=qapi");
    // The command functions' signatures are checked against the schema (names, order).
    println!("cargo::rerun-if-changed=src/commands");
    println!("cargo::rerun-if-changed={}", model::describe_script().display());
    let tree = Tree::from_env(&root);
    let program = Program::of(flavour);
    let header = tree.build.join(program.header);
    println!("cargo::rerun-if-changed={}", header.display());
    if flavour == Flavour::Monitor {
        println!("cargo::rerun-if-changed={}", tree.src.join("include/monitor/hmp.h").display());
    }
    if !header.is_file() {
        fail(&format!(
            "{} does not exist.\n\
             The build tree is configured but its QAPI headers are not generated yet;\n\
             `cargo xtask build` generates them before it builds this crate.",
            header.display()
        ));
    }
    require_condition(&tree.build, &program);
    let flags = match flavour {
        Flavour::Monitor => tree::tree_flags(&tree.build),
        Flavour::Agent => tree::agent_flags(&tree.build),
    }
    .unwrap_or_else(|e| fail(&e));
    config_cfgs_with(&tree.build, &flags);

    let schema_files = declarations(&root);
    let schema = model::describe(&root, &tree.src, &schema_files).unwrap_or_else(|e| fail(&e));
    let hmp = hx::read_dir(&root).unwrap_or_else(|e| fail(&e));
    let generated = pipeline::generate_for(flavour, &schema, &hmp, &root.join("src/commands"))
        .unwrap_or_else(|e| fail(&e.to_string()));
    let out = out_dir();
    write(&out.join("glue.rs"), &generated.glue);
    write(&out.join("commands.rs"), &generated.modules);
    // The commands as a QMP client sends them and the structs they return as it reads
    // them, for the crate's tests (written here only: the coverage run needs none).
    let client =
        crate::client::client(&schema).unwrap_or_else(|e| fail(&pipeline::generator_bug(e).to_string()));
    write(&out.join("client.rs"), &client);

    let wrapper = match flavour {
        // The generated headers of the schema module the declarations land in, and of
        // QEMU's modules whose types they use.
        Flavour::Monitor => {
            let mut modules = vec!["misc".to_string()];
            modules.extend(model::qemu_modules(&schema));
            wrapper(modules.iter().map(String::as_str))
        }
        Flavour::Agent => {
            let used = model::qemu_modules(&schema);
            if !used.is_empty() {
                fail(&format!(
                    "the declarations in qapi/ use types of QEMU's monitor schema (qapi/{}.json), \
                     which the guest agent does not have: declare the agent's own types",
                    used.join(".json, qapi/")
                ));
            }
            agent_wrapper()
        }
    };
    write_bindings(allowed(tree.bindgen_with(&wrapper, &flags), &generated.allow), &out);
}

/// The C bindgen reads for guest agent commands: QEMU's common headers, the error API
/// and the agent's generated types and commands headers (`qga/qga-qapi-*.h`, which
/// declare our handlers under `CONFIG_AGENT_RUST_LIB`).
pub(crate) fn agent_wrapper() -> String {
    "#include \"qemu/osdep.h\"\n#include \"qapi/error.h\"\n\
     #include \"qga-qapi-types.h\"\n#include \"qga-qapi-commands.h\"\n"
        .to_string()
}

/// The C bindgen reads: QEMU's common headers, the monitor's and the error API, and the
/// generated types, commands and events headers of each QAPI module in `modules` (QEMU
/// generates all three for every module).
pub(crate) fn wrapper<'a>(modules: impl IntoIterator<Item = &'a str>) -> String {
    let mut wrapper =
        String::from("#include \"qemu/osdep.h\"\n#include \"qapi/error.h\"\n#include \"monitor/hmp.h\"\n");
    // QmpCommandFunc, the type of a 'gen': false command's handler (QEMU 10 moved it).
    wrapper.push_str(
        "#if __has_include(\"qapi/qmp-registry.h\")\n#include \"qapi/qmp-registry.h\"\n\
         #else\n#include \"qapi/qmp/dispatch.h\"\n#endif\n",
    );
    for m in modules {
        for kind in ["types", "commands", "events"] {
            wrapper.push_str(&format!("#include \"qapi/qapi-{kind}-{m}.h\"\n"));
        }
    }
    wrapper
}

/// `builder` declaring exactly what the glue calls and names, with QEMU's `Monitor`,
/// `QDict`, `Error` and `QObject` taken from the layer (one Rust type each, which its functions take).
pub(crate) fn allowed(builder: bindgen::Builder, allow: &pipeline::Allowlist) -> bindgen::Builder {
    let mut builder = builder
        .blocklist_type("Monitor|QDict|Error|QObject")
        .raw_line("#[allow(unused_imports)]")
        .raw_line("pub use ::qemu_monitor_layer::__private::sys::{Error, Monitor, QDict, QObject};");
    for f in &allow.functions {
        builder = builder.allowlist_function(f);
    }
    for t in &allow.types {
        builder = builder.allowlist_type(t);
    }
    for e in &allow.enums {
        builder = builder.newtype_enum(e);
    }
    builder
}

/// The configured QEMU tree a crate is compiled against.
pub struct Tree {
    /// The build tree (`config-host.mak`, generated headers, `compile_commands.json`).
    pub build: PathBuf,
    /// Its source tree (`SRC_PATH=` of `config-host.mak`).
    pub src: PathBuf,
}

impl Tree {
    /// `QEMU_BUILD_DIR`, or the default release's tree under `root` or its parent
    /// directories (a workspace's `target/`); stops the build script when there is none.
    pub fn from_env(root: &Path) -> Tree {
        println!("cargo::rerun-if-env-changed=QEMU_BUILD_DIR");
        Tree::find(root).unwrap_or_else(|e| fail(&e))
    }

    /// What [`Tree::from_env`] finds, or why there is none: for programs that are not
    /// build scripts (the tests, the driver).
    pub fn find(root: &Path) -> Result<Tree, String> {
        let default = Path::new("target/qemu").join(DEFAULT_QEMU_VERSION).join("build");
        let build = match env::var_os("QEMU_BUILD_DIR") {
            Some(d) => PathBuf::from(d),
            None => root
                .ancestors()
                .map(|a| a.join(&default))
                .find(|d| d.join("config-host.mak").is_file())
                .unwrap_or_else(|| root.join(&default)),
        };
        if !build.join("config-host.mak").is_file() {
            return Err(format!(
                "no configured QEMU build tree at {}.\n\
                 A command crate is compiled against the headers of a patched, configured QEMU.\n\
                 To fix:\n  \
                   cargo xtask build            # fetches, patches, configures and builds QEMU\n\
                 or point QEMU_BUILD_DIR at a build tree configured from a source tree with\n\
                 the crate's series (qemu-patches/<version>/) applied.",
                build.display()
            ));
        }
        let mak = build.join("config-host.mak");
        let text = fs::read_to_string(&mak).map_err(|e| format!("cannot read {}: {e}", mak.display()))?;
        let src = match text.lines().find_map(|l| l.strip_prefix("SRC_PATH=")) {
            Some(src) => PathBuf::from(src.trim()),
            None => return Err(format!("{} has no SRC_PATH= line", mak.display())),
        };
        Ok(Tree { build, src })
    }

    /// A bindgen builder over `wrapper` (C source) with the tree's own compile flags.
    pub fn bindgen(&self, wrapper: &str) -> bindgen::Builder {
        let clang_args = tree::tree_flags(&self.build).unwrap_or_else(|e| fail(&e));
        self.bindgen_with(wrapper, &clang_args)
    }

    /// bindgen over `wrapper` with the C flags `clang_args` (the tree's, from
    /// [`tree`]).
    pub fn bindgen_with(&self, wrapper: &str, clang_args: &[String]) -> bindgen::Builder {
        println!("cargo::rerun-if-changed={}", self.build.join("compile_commands.json").display());
        bindgen::Builder::default()
            .header_contents("wrapper.h", wrapper)
            .clang_args(clang_args)
            .use_core()
            .rust_edition(bindgen::RustEdition::Edition2024)
            .raw_line("// @generated by qemu-monitor-layer-build from QEMU's headers; do not edit.")
            .layout_tests(false)
    }
}

/// Runs `builder` and writes `OUT_DIR/bindings.rs`.
pub fn write_bindings(builder: bindgen::Builder, out: &Path) {
    let bindings = builder.generate().unwrap_or_else(|e| fail(&format!("bindgen failed: {e}")));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .unwrap_or_else(|e| fail(&format!("cannot write bindings.rs: {e}")));
}

/// Cargo's `OUT_DIR` for the running build script.
pub fn out_dir() -> PathBuf {
    PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
}

/// The schema files, relative to the crate root: `qapi/*.json`.
fn declarations(root: &Path) -> Vec<String> {
    declaration_files(root).unwrap_or_else(|e| fail(&e))
}

/// The schema files of the crate at `root`, relative to it and sorted: `qapi/*.json`
/// (what [`model::describe`] reads).
pub fn declaration_files(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("qapi");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names.iter().filter(|n| n.ends_with(".json")).map(|n| format!("qapi/{n}")).collect())
}

pub(crate) fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", path.display())));
}

/// The series declares every command under `CONFIG_MONITOR_RUST_LIB` (the agent's under
/// `CONFIG_AGENT_RUST_LIB`), which `--monitor-rust-lib` (`--agent-rust-lib`) sets in
/// config-host.h: without it the headers declare none of them, and bindgen's view would
/// lack every prototype the handlers are proven against.
fn require_condition(build_dir: &Path, program: &Program) {
    let h = build_dir.join("config-host.h");
    println!("cargo::rerun-if-changed={}", h.display());
    let text = fs::read_to_string(&h).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", h.display())));
    let (condition, option) = (program.condition, program.option);
    if !text.lines().any(|l| l.trim_end() == format!("#define {condition}")) {
        fail(&format!(
            "{} does not define {condition}.\n\
             The tree was configured without {option}, so QEMU's headers declare none\n\
             of the commands in qapi/ (the series puts them under that condition).\n\
             To fix: configure with {option}=PATH (the staticlib cargo writes; an empty\n\
             archive until then), as `cargo xtask build` does.",
            h.display()
        ));
    }
}

/// `cfg(qemu_config = "NAME")` for every macro defined once `qemu/osdep.h` is included
/// (which every file of QEMU's generated C includes first): `config-host.h`'s and those
/// osdep.h defines itself (`HAVE_CHARDEV_SERIAL`), asked of the C preprocessor with the
/// flags QEMU compiles its monitor with. That is what QEMU's generated headers test with
/// `#if defined(NAME)`, so an `'if'` in the schema is the same condition in Rust
/// (the lowering of `'if'`). The compiler's own macros (`__x`) and lower-case ones (glib's function
/// aliases) are left out: a condition names a configuration macro.
pub fn config_cfgs(build_dir: &Path) {
    let flags = tree::tree_flags(build_dir).unwrap_or_else(|e| fail(&e));
    config_cfgs_with(build_dir, &flags);
}

/// [`config_cfgs`] with the C flags `flags` (a per-target file's, which define the
/// target's macros too: `TARGET_I386`).
pub fn config_cfgs_with(build_dir: &Path, flags: &[String]) {
    let h = build_dir.join("config-host.h");
    println!("cargo::rerun-if-changed={}", h.display());
    println!("cargo::rustc-check-cfg=cfg(qemu_config, values(any()))");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut child = std::process::Command::new(&cc)
        .args(["-E", "-dM", "-x", "c"])
        .args(flags)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot run {cc}: {e}")));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(b"#include \"qemu/osdep.h\"\n").unwrap_or_else(|e| fail(&format!("{cc}: {e}")));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| fail(&format!("{cc}: {e}")));
    if !out.status.success() {
        fail(&format!(
            "{cc} -E -dM could not read qemu/osdep.h with {}'s flags:\n{}",
            build_dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    for name in text
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| l.split([' ', '(']).next())
        .filter(|n| !n.starts_with("__") && !n.contains(|c: char| c.is_ascii_lowercase()))
    {
        println!("cargo::rustc-cfg=qemu_config=\"{name}\"");
    }
}

/// Stops the build script with `msg`: a refusal, not a crash, so no panic and no
/// backtrace; cargo shows it under the build script's `--- stderr`.
pub fn fail(msg: &str) -> ! {
    eprintln!("error: qemu-monitor-layer build:\n{msg}");
    std::process::exit(1)
}
