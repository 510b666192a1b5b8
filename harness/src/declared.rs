// SPDX-License-Identifier: GPL-2.0-or-later
//! What the declarations in `qapi/` declare, read back for tests and driver commands that
//! check a build, a manual or a package against them: each definition with its doc
//! comment's members and examples, as QEMU's own QAPI front end reads them (through the
//! generator's model, `qemu_monitor_layer_gen::model`), and each HMP entry (through
//! `qemu_monitor_layer_gen::hx`). Nothing here reads the schema's text itself.

use std::path::Path;

use qemu_monitor_layer_gen::model::{self, Schema};

/// One definition of a `qapi/<name>.json` file.
#[derive(Clone, Debug)]
pub struct Definition {
    /// `command`, `event`, `struct`, `union`, `enum` or `alternate`.
    pub meta: String,
    pub name: String,
    /// The members its doc comment documents: (member, its text, whitespace-joined).
    pub members: Vec<(String, String)>,
    /// The lines of its examples, trimmed.
    pub example: Vec<String>,
}

/// One HMP entry of a `qapi/<name>.hx` (a command) or `.info.hx` (an `info` subcommand),
/// as the layer's generator reads it.
pub use qemu_monitor_layer_gen::hx::HmpEntry;

/// The crate's schema at `root` as the front end of the QEMU source tree `src` reads it.
pub fn schema_in(root: &Path, src: &Path) -> Schema {
    let files = qemu_monitor_layer_gen::build::declaration_files(root).unwrap_or_else(|e| panic!("{e}"));
    model::describe(root, src, &files).unwrap_or_else(|e| panic!("{e}"))
}

/// The QEMU source tree the crate at `root` is built against: `QEMU_BUILD_DIR`'s, or the
/// default release's under `root` (as the crate's build finds it).
pub fn tree_src(root: &Path) -> std::path::PathBuf {
    qemu_monitor_layer_gen::Tree::find(root).unwrap_or_else(|e| panic!("{e}")).src
}

/// Every definition in `root/qapi/*.json`, in file order, read with the QEMU tree the
/// crate is built against ([`tree_src`]).
pub fn definitions(root: &Path) -> Vec<Definition> {
    definitions_in(root, &tree_src(root))
}

/// Every definition in `root/qapi/*.json`, in file order, as the front end of the QEMU
/// source tree `src` reads it.
pub fn definitions_in(root: &Path, src: &Path) -> Vec<Definition> {
    let schema = schema_in(root, src);
    let meta = |symbol: &str| -> &'static str {
        if schema.commands.iter().any(|c| c.name == symbol) {
            "command"
        } else if schema.events.iter().any(|e| e.name == symbol) {
            "event"
        } else if let Some(s) = schema.structs.iter().find(|s| s.name == symbol) {
            if s.branches.is_some() { "union" } else { "struct" }
        } else if schema.enums.iter().any(|e| e.name == symbol) {
            "enum"
        } else if schema.alternates.iter().any(|a| a.name == symbol) {
            "alternate"
        } else {
            panic!("{symbol}: documented, but the schema defines no such entity")
        }
    };
    let out: Vec<Definition> = schema
        .docs
        .iter()
        .map(|doc| Definition {
            meta: meta(&doc.symbol).to_string(),
            name: doc.symbol.clone(),
            members: doc.members.clone(),
            example: doc
                .examples
                .iter()
                .flat_map(|e| e.lines())
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        })
        .collect();
    assert!(!out.is_empty(), "{}: qapi/ declares nothing", root.display());
    out
}

/// Every HMP entry in `root/qapi/*.hx`, read by the layer's one reader.
pub fn hmp_entries(root: &Path) -> Vec<HmpEntry> {
    qemu_monitor_layer_gen::hx::read_dir(root).unwrap_or_else(|e| panic!("{e}"))
}
