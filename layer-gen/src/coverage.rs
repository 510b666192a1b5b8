// SPDX-License-Identifier: GPL-2.0-or-later
//! The coverage build (`cargo xtask coverage`): the layer's glue for every command and
//! event of QEMU's own schema that the layer can carry, compiled with each handler's and
//! each sender's proof against bindgen's prototype from QEMU's headers. A command the
//! layer cannot carry yet is reported with the generator's own reason, not dropped.
//!
//! A scratch crate's `build.rs` calls [`build`]; its `lib.rs` is `commands!()`. Each
//! command function is a stub with the signature [`pipeline::signature`] writes (what
//! `cargo xtask new-command` writes), in `OUT_DIR/commands/`. The crate compiling is the
//! proof; the report (`OUT_DIR/coverage.json`, written with the glue it describes, so a
//! build that is up to date keeps the report that matches it) says what is in it.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::model::{self, Schema, module, reachable};
use crate::pipeline;

/// One command or event of QEMU's schema: whether the coverage crate carries it, and if
/// not, why.
#[derive(serde::Serialize)]
struct Entry {
    name: String,
    file: String,
    /// The generator's refusal; `None` when the glue is generated (and so compiled).
    refused: Option<String>,
}

#[derive(serde::Serialize)]
struct Report {
    commands: Vec<Entry>,
    events: Vec<Entry>,
}

/// `part` merged into `into` (each type once).
fn merge(into: &mut Schema, part: Schema) {
    for s in part.structs {
        if !into.structs.iter().any(|t| t.name == s.name) {
            into.structs.push(s);
        }
    }
    for e in part.enums {
        if !into.enums.iter().any(|t| t.name == e.name) {
            into.enums.push(e);
        }
    }
    for a in part.alternates {
        if !into.alternates.iter().any(|t| t.name == a.name) {
            into.alternates.push(a);
        }
    }
}

/// The coverage crate's build script: describes the configured tree's own schema, less
/// the commands and events named in `QEMU_MONITOR_LAYER_COVERAGE_EXCLUDE` (a crate's own,
/// which the series added), generates the glue for what the layer carries, writes the
/// stubs, the bindings and the report.
pub fn build() {
    let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo::rerun-if-env-changed=QEMU_MONITOR_LAYER_COVERAGE_EXCLUDE");
    println!("cargo::rerun-if-changed={}", model::describe_script().display());
    let tree = crate::build::Tree::from_env(&root);
    // Before 10.2, QEMU compiles some modules (`*-target.json`) once per target, and
    // poisons their headers in common code: the coverage crate is then compiled as that
    // per-target code is (the tree's first target), which a crate linked into one
    // `qemu-system-<target>` may be.
    let target_flags = crate::tree::target_flags(&tree.build).unwrap_or_else(|e| crate::build::fail(&e));
    let flags = match &target_flags {
        Some(f) => f.clone(),
        None => crate::tree::tree_flags(&tree.build).unwrap_or_else(|e| crate::build::fail(&e)),
    };
    crate::build::config_cfgs_with(&tree.build, &flags);
    let exclude: Vec<String> = std::env::var("QEMU_MONITOR_LAYER_COVERAGE_EXCLUDE")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let whole = model::describe_qemu(&tree.src).unwrap_or_else(|e| crate::build::fail(&e));
    let out = crate::build::out_dir();
    let commands_dir = out.join("commands");
    let _ = fs::remove_dir_all(&commands_dir);
    fs::create_dir_all(&commands_dir)
        .unwrap_or_else(|e| crate::build::fail(&format!("{}: {e}", commands_dir.display())));

    let mut carried = Schema {
        commands: Vec::new(),
        events: Vec::new(),
        structs: Vec::new(),
        alternates: Vec::new(),
        enums: Vec::new(),
        docs: Vec::new(),
    };
    let mut report = Report { commands: Vec::new(), events: Vec::new() };
    let none = Path::new("/nonexistent");
    for c in whole.commands.iter().filter(|c| !exclude.contains(&c.name)) {
        let mut roots = model::argument_roots(c);
        roots.extend(model::return_roots(c));
        let mut one = reachable(&whole, &roots);
        one.commands.push(c.clone());
        let stub = match per_target(&c.file, &one).filter(|_| target_flags.is_none()) {
            Some(refused) => Err(refused),
            None => pipeline::generate(&one, &[], none)
                .and_then(|_| pipeline::signature(&one, &c.name))
                .map_err(|d| d.to_string()),
        };
        let refused = match stub {
            Ok(stub) => {
                let text = format!("use crate::prelude::*;\n\n{stub}");
                let path = commands_dir.join(format!("{}.rs", c.c_name));
                fs::write(&path, text)
                    .unwrap_or_else(|e| crate::build::fail(&format!("{}: {e}", path.display())));
                merge(&mut carried, one);
                carried.commands.push(c.clone());
                None
            }
            Err(refused) => Some(refused),
        };
        report.commands.push(Entry { name: c.name.clone(), file: c.file.clone(), refused });
    }
    for e in whole.events.iter().filter(|e| !exclude.contains(&e.name)) {
        let mut one = reachable(&whole, &model::event_roots(e));
        one.events.push(e.clone());
        let refused = per_target(&e.file, &one)
            .filter(|_| target_flags.is_none())
            .or_else(|| pipeline::generate(&one, &[], none).err().map(|d| d.to_string()));
        if refused.is_none() {
            merge(&mut carried, one);
            carried.events.push(e.clone());
        }
        report.events.push(Entry { name: e.name.clone(), file: e.file.clone(), refused });
    }
    let generated = pipeline::generate(&carried, &[], &commands_dir)
        .unwrap_or_else(|e| crate::build::fail(&e.to_string()));
    crate::build::write(&out.join("glue.rs"), &generated.glue);
    crate::build::write(&out.join("commands.rs"), &generated.modules);
    crate::build::write(
        &out.join("coverage.json"),
        &serde_json::to_string_pretty(&report).expect("a report"),
    );

    // The headers of every module the carried entities come from.
    let files = carried.commands.iter().map(|c| &c.file).chain(carried.events.iter().map(|e| &e.file));
    let files =
        files.chain(carried.structs.iter().map(|s| &s.file)).chain(carried.enums.iter().map(|e| &e.file));
    let modules: BTreeSet<String> = files.filter_map(|f| module(f)).collect();
    let wrapper = crate::build::wrapper(modules.iter().map(String::as_str));
    crate::build::write_bindings(
        crate::build::allowed(tree.bindgen_with(&wrapper, &flags), &generated.allow),
        &out,
    );
}

/// The refusal of an entity that is, or reaches a type, in a per-target module
/// (`*-target.json`): QEMU compiles those headers once per target, with the target's
/// macros, and poisons them in the common code a command crate is compiled as.
fn per_target(file: &str, reached: &Schema) -> Option<String> {
    let files = std::iter::once(file)
        .chain(reached.structs.iter().map(|s| s.file.as_str()))
        .chain(reached.enums.iter().map(|e| e.file.as_str()));
    files.into_iter().find(|f| f.ends_with("-target.json")).map(|f| {
        format!(
            "{f}: a per-target module (QEMU compiles its headers for each target, and they cannot \
             be included in the common code a command crate is compiled as)"
        )
    })
}
