// SPDX-License-Identifier: GPL-2.0-or-later
//! What the declarations in `qapi/` declare, read back for tests that check a build or
//! a manual against them: each QAPI definition with its doc comment's members and
//! example, and each HMP entry (through `qemu_monitor_layer_gen::hx`, the reader the
//! generator uses).

use std::fs;
use std::path::Path;

/// One definition of a `qapi/<name>.json` file.
#[derive(Clone, Debug)]
pub struct Definition {
    /// `command`, `event`, `struct`, ...
    pub meta: String,
    pub name: String,
    /// The `@member:` lines of its doc comment: (member, its text, whitespace-joined).
    pub members: Vec<(String, String)>,
    /// The lines of its `.. qmp-example::` blocks, trimmed.
    pub example: Vec<String>,
}

/// One HMP entry of a `qapi/<name>.hx` (a command) or `.info.hx` (an `info` subcommand),
/// as the layer's generator reads it.
pub use qemu_monitor_layer_gen::hx::HmpEntry;

fn files(root: &Path, suffix: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fs::read_dir(root.join("qapi"))
        .expect("qapi/ is readable")
        .map(|e| e.expect("qapi/ entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .map(|p| (p.display().to_string(), fs::read_to_string(&p).expect("declaration is readable")))
        .collect();
    v.sort();
    v
}

/// Every definition in `root/qapi/*.json`, in file order.
pub fn definitions(root: &Path) -> Vec<Definition> {
    let mut out = Vec::new();
    for (path, text) in files(root, ".json") {
        let mut doc: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix('#') {
                doc.push(rest.strip_prefix(' ').unwrap_or(rest));
                continue;
            }
            let Some(def) = line.strip_prefix("{ '") else { continue };
            // An include of QEMU's module defines nothing of ours.
            if def.starts_with("include'") {
                continue;
            }
            let mut parts = def.split('\'');
            let (Some(meta), Some(_), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
                panic!("{path}: cannot read the definition {line:?}");
            };
            out.push(Definition {
                meta: meta.to_string(),
                name: name.to_string(),
                members: members(&doc),
                example: example(&doc),
            });
            doc.clear();
        }
    }
    assert!(!out.is_empty(), "qapi/ declares nothing");
    out
}

fn members(doc: &[&str]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in doc {
        if let Some(rest) = line.strip_prefix('@') {
            let (name, text) = rest.split_once(':').unwrap_or((rest, ""));
            out.extend(current.take());
            // The first `@name:` is the definition itself, not a member.
            if !text.trim().is_empty() {
                current = Some((name.to_string(), text.trim().to_string()));
            }
        } else if let Some((_, text)) = current.as_mut() {
            if line.trim().is_empty() {
                out.extend(current.take());
            } else {
                text.push(' ');
                text.push_str(line.trim());
            }
        }
    }
    out.extend(current);
    out
}

fn example(doc: &[&str]) -> Vec<String> {
    // Every example block (a command may have several), without the directives.
    doc.iter()
        .skip_while(|l| !l.starts_with(".. qmp-example::"))
        .filter(|l| !l.starts_with(".. qmp-example::"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && l != "#")
        .collect()
}

/// Every HMP entry in `root/qapi/*.hx`, read by the layer's one reader.
pub fn hmp_entries(root: &Path) -> Vec<HmpEntry> {
    qemu_monitor_layer_gen::hx::read_dir(root).unwrap_or_else(|e| panic!("{e}"))
}
