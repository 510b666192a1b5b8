// SPDX-License-Identifier: GPL-2.0-or-later
//! The flags a configured QEMU tree compiles its monitor's C with, for everything of ours
//! that reads QEMU's headers: bindgen in build.rs and the C contract test
//! (tests/layer_c.rs).

use std::path::{Path, PathBuf};

/// The preprocessor and language flags QEMU's own build compiles `monitor/hmp-cmds.c`
/// with (from the tree's `compile_commands.json`): include paths (made absolute),
/// defines and the C standard, so that what reads the headers reads them exactly as the
/// C that calls our handlers does, whatever a release changes in them.
pub fn tree_flags(build_dir: &Path) -> Result<Vec<String>, String> {
    let path = build_dir.join("compile_commands.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a compilation database: {e}", path.display()))?;
    let entry = entries
        .iter()
        .find(|e| e["file"].as_str().is_some_and(|f| f.ends_with("monitor/hmp-cmds.c")))
        .ok_or_else(|| format!("{} has no entry for monitor/hmp-cmds.c", path.display()))?;
    let dir = PathBuf::from(entry["directory"].as_str().unwrap_or_default());
    let command = entry["command"].as_str().unwrap_or_default();
    if command.contains(['\'', '"', '\\']) {
        return Err(format!("the compile command of monitor/hmp-cmds.c has quoted words: {command}"));
    }
    let abs = |p: &str| dir.join(p).display().to_string();
    let mut words = command.split_whitespace();
    let mut out = Vec::new();
    while let Some(w) = words.next() {
        if let Some(p) = w.strip_prefix("-I") {
            out.push(format!("-I{}", abs(p)));
        } else if w == "-iquote" || w == "-isystem" {
            if let Some(p) = words.next() {
                out.extend([w.to_string(), abs(p)]);
            }
        } else if w.starts_with("-D") || w.starts_with("-U") || w.starts_with("-std=") {
            out.push(w.to_string());
        }
    }
    if !out.iter().any(|f| f.starts_with("-I")) {
        return Err(format!(
            "the compile command of monitor/hmp-cmds.c in {} has no -I flag",
            path.display()
        ));
    }
    Ok(out)
}
