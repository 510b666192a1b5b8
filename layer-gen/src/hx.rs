// SPDX-License-Identifier: GPL-2.0-or-later
//! The one reader of a command crate's HMP entries (`qapi/<command>.hx`, and
//! `qapi/<command>.info.hx` for an `info` subcommand), in the form of QEMU's
//! `hmp-commands.hx`: the generator, `cargo xtask` (the series script's inputs, the
//! bisection walk, the package's manifest) and the tests all read them here.

use std::path::Path;

/// One HMP entry.
#[derive(Debug, Clone)]
pub struct HmpEntry {
    /// The file, relative to the crate (`qapi/<command>.hx`).
    pub file: String,
    /// The Rust module the file belongs to: its stem with `-` as `_`.
    pub module: String,
    /// An `info` subcommand (`.info.hx`, QEMU's `hmp-commands-info.hx`).
    pub info: bool,
    /// `.name`.
    pub name: String,
    /// `.cmd`: the C handler.
    pub cmd: String,
    /// `.params`, as `help` shows it.
    pub params: String,
    /// `.help`.
    pub help: String,
    /// `.args_type`, read as `monitor/hmp.c` stores each argument.
    pub args: Vec<HmpArg>,
    /// The entry's table part (the `{ ... },` before `SRST`), as it goes into QEMU's table.
    pub table: String,
    /// The rST text between the `SRST` block's first line and `ERST`.
    pub doc: String,
    /// The whole file.
    pub text: String,
}

/// One argument of `.args_type`.
#[derive(Debug, Clone)]
pub struct HmpArg {
    /// The argument's name, as the command's QMP member is named.
    pub name: String,
    /// What the human monitor stores for it (from its `.args_type` letter).
    pub value: HmpValue,
    /// Whether it may be left out (a `?` after the letter).
    pub optional: bool,
}

/// What `monitor/hmp.c` stores in the arguments' QDict for an `.args_type` letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmpValue {
    /// A string (`s S F B`, an option `-xs`).
    Str,
    /// An integer (`i l M o`).
    Int,
    /// A double (`T`).
    Number,
    /// A bool (`b`, a flag `-x`).
    Bool,
}

/// Every HMP entry of the crate at `root`, in file-name order; each file holds one entry
/// and has its command's `.json` beside it.
pub fn read_dir(root: &Path) -> Result<Vec<HmpEntry>, String> {
    let dir = root.join("qapi");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut entries = Vec::new();
    for name in names.iter().filter(|n| n.ends_with(".hx")) {
        let file = format!("qapi/{name}");
        let stem = name.strip_suffix(".info.hx").or_else(|| name.strip_suffix(".hx")).unwrap_or(name);
        if !names.iter().any(|n| n.strip_suffix(".json") == Some(stem)) {
            return Err(format!(
                "{file}: no qapi/{stem}.json beside it; an HMP entry belongs to a command's declarations \
                 (the series adds it with that command)"
            ));
        }
        let text =
            std::fs::read_to_string(root.join(&file)).map_err(|e| format!("cannot read {file}: {e}"))?;
        entries.push(read(&file, &text)?);
    }
    Ok(entries)
}

/// Reads the one HMP entry of the declaration file `file` (its path relative to the
/// crate), whose text is `text`.
pub fn read(file: &str, text: &str) -> Result<HmpEntry, String> {
    let base = Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let module = base.split('.').next().unwrap_or_default().replace('-', "_");
    let field = |block: &str, key: &str| -> Option<String> {
        block.lines().find_map(|l| {
            let rest = l.trim().strip_prefix('.')?.strip_prefix(key)?.trim_start().strip_prefix('=')?;
            let v = rest.trim().trim_end_matches(',').trim();
            Some(v.trim_matches('"').to_string())
        })
    };
    let blocks: Vec<&str> = text.split("\n    {").skip(usize::from(!text.starts_with("    {"))).collect();
    let Some(first) = blocks.first() else {
        return Err(format!("{file}: no HMP entry (`    {{ .name = ..., .cmd = hmp_..., }},`)"));
    };
    if blocks.len() > 1 {
        // The series gives each file one patch, one #if block and one prototype.
        let second = field(blocks[1], "name").unwrap_or_default();
        return Err(format!(
            "{file}: {} HMP entries; a file holds one (qapi/<command>.hx, qapi/<command>.info.hx): \
             declare another command for {second:?}",
            blocks.len()
        ));
    }
    let block = first.split("SRST").next().unwrap_or_default();
    let name = field(block, "name").ok_or_else(|| format!("{file}: an HMP entry without .name"))?;
    let cmd = field(block, "cmd").ok_or_else(|| format!("{file}: HMP entry {name:?} has no .cmd"))?;
    let args_type = field(block, "args_type").unwrap_or_default();
    let mut args = Vec::new();
    for spec in args_type.split(',').filter(|s| !s.is_empty()) {
        let (arg, ty) = spec
            .split_once(':')
            .ok_or_else(|| format!("{file}: HMP entry {name:?}: args_type item {spec:?} has no ':'"))?;
        let (value, optional) = arg_value(file, &name, arg, ty)?;
        args.push(HmpArg { name: arg.to_string(), value, optional });
    }
    let (table, rest) = text.split_once("SRST\n").unwrap_or((text, ""));
    let doc = rest.split_once('\n').map_or("", |(_, d)| d);
    let doc = doc.split("ERST").next().unwrap_or_default();
    Ok(HmpEntry {
        file: file.to_string(),
        module,
        info: file.ends_with(".info.hx"),
        params: field(block, "params").unwrap_or_default(),
        help: field(block, "help").unwrap_or_default(),
        name,
        cmd,
        args,
        table: table.trim_end().to_string(),
        doc: doc.to_string(),
        text: text.to_string(),
    })
}

/// What monitor/hmp.c's monitor_parse_arguments() stores in the QDict for an args_type
/// item: a string for s S F B and for an option `-xs`, an integer for i l M o, a double
/// for T, a bool for b and for a flag `-x` (absent: false); and whether it may be absent.
fn arg_value(file: &str, name: &str, arg: &str, ty: &str) -> Result<(HmpValue, bool), String> {
    let letters = ty.strip_suffix('?').unwrap_or(ty);
    let optional = letters.len() < ty.len();
    let option = letters.strip_prefix('-');
    Ok(match (letters, option) {
        (_, Some(o)) if !optional && o.len() == 1 && o.chars().all(|c| c.is_ascii_alphabetic()) => {
            (HmpValue::Bool, false)
        }
        (_, Some(o))
            if !optional
                && o.len() == 2
                && o.starts_with(|c: char| c.is_ascii_alphabetic())
                && o.ends_with('s') =>
        {
            (HmpValue::Str, true)
        }
        ("s" | "S" | "F" | "B", None) => (HmpValue::Str, optional),
        ("i" | "l" | "M" | "o", None) => (HmpValue::Int, optional),
        ("T", None) => (HmpValue::Number, optional),
        // monitor/hmp.c reads no `?` after `b`: `b?` would garble the rest of args_type.
        ("b", None) if !optional => (HmpValue::Bool, false),
        _ => {
            return Err(format!(
                "{file}: HMP entry {name:?}: args_type {ty:?} of {arg:?} is not supported by the \
                 command layer (supported: s S F B, i l M o, T, b, each optionally with ?; \
                 a flag -x; an option with a string -xs; `b` takes no ?)"
            ));
        }
    })
}
