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
    flags_for(build_dir, |f| f.ends_with("monitor/hmp-cmds.c"))?.ok_or_else(|| {
        format!("{} has no entry for monitor/hmp-cmds.c", build_dir.join("compile_commands.json").display())
    })
}

/// The flags QEMU compiles its guest agent's commands with (`qga/commands.c`, which
/// sees the agent's generated headers, `qga/qga-qapi-*.h`): the tree must be configured
/// with `--enable-guest-agent`.
pub fn agent_flags(build_dir: &Path) -> Result<Vec<String>, String> {
    flags_for(build_dir, |f| f.ends_with("qga/commands.c"))?.ok_or_else(|| {
        format!(
            "{} has no entry for qga/commands.c: the tree was configured without the guest agent \
             (--enable-guest-agent)",
            build_dir.join("compile_commands.json").display()
        )
    })
}

/// The flags QEMU compiles its per-target QAPI code with (`qapi/qapi-*-<module>-target.c`,
/// compiled once for each target with `NEED_CPU_H` or `COMPILING_PER_TARGET` and the
/// target's `CONFIG_TARGET` header), for the first target the tree builds; `None` when
/// the release has no per-target modules (10.2 made them common).
pub fn target_flags(build_dir: &Path) -> Result<Option<Vec<String>>, String> {
    flags_for(build_dir, |f| f.starts_with("qapi/") && f.ends_with("-target.c"))
}

/// The flags of the first file `pick` chooses, if any.
fn flags_for(build_dir: &Path, pick: impl Fn(&str) -> bool) -> Result<Option<Vec<String>>, String> {
    let path = build_dir.join("compile_commands.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a compilation database: {e}", path.display()))?;
    let Some(entry) = entries.iter().find(|e| e["file"].as_str().is_some_and(&pick)) else { return Ok(None) };
    let dir = PathBuf::from(entry["directory"].as_str().unwrap_or_default());
    let command = entry["command"].as_str().unwrap_or_default();
    let abs = |p: &str| dir.join(p).display().to_string();
    let words = shell_words(command)
        .ok_or_else(|| format!("{}: a compile command that does not parse: {command}", path.display()))?;
    let mut words = words.into_iter();
    let mut out = Vec::new();
    while let Some(w) = words.next() {
        if let Some(p) = w.strip_prefix("-I") {
            out.push(format!("-I{}", abs(p)));
        } else if w == "-iquote" || w == "-isystem" {
            if let Some(p) = words.next() {
                out.extend([w.clone(), abs(&p)]);
            }
        } else if w.starts_with("-D") || w.starts_with("-U") || w.starts_with("-std=") {
            out.push(w);
        }
    }
    if !out.iter().any(|f| f.starts_with("-I")) {
        return Err(format!("{}: the compile command of {} has no -I flag", path.display(), entry["file"]));
    }
    Ok(Some(out))
}

/// The words of a POSIX shell command line as meson writes them into
/// `compile_commands.json`: blanks separate words, `'...'` is literal, `"..."` takes
/// backslash escapes, a backslash outside quotes escapes the next character. `None` on
/// an unterminated quote.
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).push(chars.next()?),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shell_words_as_meson_quotes_them() {
        let words = super::shell_words(
            r#"cc -I. '-DCONFIG_TARGET="x86_64-softmmu-config-target.h"' -DA=\"b\" "-DC=d e""#,
        );
        assert_eq!(
            words.unwrap(),
            ["cc", "-I.", "-DCONFIG_TARGET=\"x86_64-softmmu-config-target.h\"", "-DA=\"b\"", "-DC=d e"]
        );
        assert_eq!(super::shell_words("cc 'open"), None);
    }
}
