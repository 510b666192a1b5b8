// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask new-command NAME [--hmp]`: writes the stubs of a new monitor command —
//! its schema `qapi/NAME.json`, with `--hmp` its HMP entry `qapi/NAME.hx`, its
//! function `src/commands/<name with underscores>.rs`, and its transcript
//! `tests/transcripts/NAME.txt` (a call and the reply it must get, which `cargo xtask
//! test --quick` checks) — and says what to do next.
//!
//! The stub function compiles and answers with an error saying it is not implemented
//! yet, so a scaffolded command builds, boots and can be called before it is written.
//!
//! With the schema in place already (`qapi/NAME.json` written, `src/commands/<name>.rs`
//! not yet), it writes only the function, with the exact signature the generator
//! expects: parameters named after the members in order, each of the type the handler
//! passes, and the return type. The declarations are read with QEMU's own QAPI front end,
//! as the build reads them (`qemu_monitor_layer_gen::pipeline::signature`).

use std::fs;
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::{sh, versions};

#[derive(clap::Args, Debug)]
pub struct NewCommandArgs {
    /// The QMP command's name: lower-case letters, digits and '-', starting with a letter.
    #[arg(value_parser = parse_name)]
    name: String,
    /// Also write an HMP entry (a twin of the QMP command, same arguments).
    #[arg(long)]
    hmp: bool,
}

fn parse_name(name: &str) -> Result<String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !ok {
        bail!(
            "{name:?} is not a QMP command name: use lower-case letters, digits and single '-', starting with a letter"
        );
    }
    Ok(name.to_string())
}

pub fn new_command(args: &NewCommandArgs) -> Result<()> {
    let name = &args.name;
    let c_name = name.replace('-', "_");
    // The function's Rust name: raw for a keyword (`type` is `fn r#type`).
    let fn_name = qemu_monitor_layer_gen::rust_ident(&c_name).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let root = sh::crate_dir();
    let schema_file = root.join("qapi").join(format!("{name}.json"));
    let function_file = root.join("src/commands").join(format!("{c_name}.rs"));
    if schema_file.exists() && !function_file.exists() && !args.hmp {
        return function_from_schema(name, &function_file);
    }
    // `Since:` is the release the series targets first.
    let since = versions::DEFAULT.rsplit_once('.').map_or(versions::DEFAULT, |(major_minor, _)| major_minor);
    let mut files: Vec<(PathBuf, String)> = vec![
        (
            root.join("qapi").join(format!("{name}.json")),
            format!(
                "##\n# @{name}:\n#\n# Describe what @{name} does.\n#\n# Since: {since}\n#\n\
                 # .. qmp-example::\n#\n#     -> {{ \"execute\": \"{name}\" }}\n#     <- {{ \"return\": {{}} }}\n\
                 ##\n{{ 'command': '{name}' }}\n"
            ),
        ),
        (
            root.join("src/commands").join(format!("{c_name}.rs")),
            format!(
                "// SPDX-License-Identifier: GPL-2.0-or-later\n\
                 //! QMP `{name}` (qapi/{name}.json).\n\n\
                 use crate::prelude::*;\n\n\
                 /// Implements `{name}`: one argument per schema member, in order.\n\
                 pub fn {fn_name}() -> Result<(), CommandError> {{\n    \
                 Err(CommandError::new(\"{name} is not implemented yet\"))\n}}\n"
            ),
        ),
    ];
    // The command's transcript, which `cargo xtask test --quick` runs: the stub's answer
    // now, the real one once it is written.
    files.push((
        root.join("tests/transcripts").join(format!("{name}.txt")),
        format!(
            "# {name}: each call with the reply it must get (`cargo xtask test --quick`).\n\
             # The stub's answer first: change it to what {name} answers once written.\n\n\
             -> {{ \"execute\": \"{name}\" }}\n\
             <- {{ \"error\": {{ \"class\": \"GenericError\", \"desc\": \"{name} is not implemented yet\" }} }}\n"
        ),
    ));
    if args.hmp {
        files.push((
            root.join("qapi").join(format!("{name}.hx")),
            format!(
                "    {{\n        .name       = \"{name}\",\n        .args_type  = \"\",\n        \
                 .params     = \"\",\n        .help       = \"describe {name} in one line\",\n        \
                 .cmd        = hmp_{c_name},\n    }},\n\nSRST\n``{name}``\n  Describe what ``{name}`` does.\nERST\n"
            ),
        ));
    }
    if let Some((existing, _)) = files.iter().find(|(p, _)| p.exists()) {
        bail!(
            "{} exists already: the command {name:?} is declared{}",
            existing.display(),
            if existing == &schema_file && !function_file.exists() {
                " (without --hmp, new-command writes its function from the declaration)"
            } else {
                ""
            }
        );
    }
    for (path, text) in &files {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(path, text)?;
        out!("wrote {}", path.strip_prefix(root).unwrap_or(path).display());
    }
    sh::step(format!(
        "next: declare the arguments and document {name} in qapi/{name}.json{hx}, write the body of \
         {c_name}() in src/commands/{c_name}.rs and its calls in tests/transcripts/{name}.txt; then \
         `cargo xtask test --quick`, `cargo xtask call '{{\"execute\":\"{name}\"}}'` or `cargo xtask \
         shell`; `cargo xtask patches` and `cargo xtask test` before you commit",
        hx = if args.hmp { format!(" (and qapi/{name}.hx)") } else { String::new() }
    ));
    Ok(())
}

/// Writes `src/commands/<name>.rs` with the signature the declarations in `qapi/` ask
/// for, read by the QAPI front end of the default release's QEMU source (the build's
/// tree when there is one; otherwise `scripts/qapi` and QEMU's schema modules from the
/// release's tarball, which a declaration may include).
fn function_from_schema(name: &str, dest: &std::path::Path) -> Result<()> {
    use crate::qemu::{Flavor, Layout};
    let root = sh::crate_dir();
    let v = versions::get(versions::DEFAULT)?;
    let built = Layout::new(v, Flavor::Rust).src;
    let unpacked;
    let src = if built.join("scripts/qapi").is_dir() {
        built
    } else {
        unpacked = tempfile::Builder::new().prefix("qemu-qapi-").tempdir()?;
        let tarball = crate::source::tarball(v, None)?;
        sh::run(
            tools::command("tar")?
                .arg("xf")
                .arg(&tarball)
                .args(["--no-same-owner", "--strip-components=1", "--wildcards", "-C"])
                .arg(unpacked.path())
                // The front end, and QEMU's modules: misc.json's doc syntax says which the
                // release reads, and a declaration may include any of them.
                .args(["*/scripts/qapi/*", "*/qapi/*.json"]),
        )?;
        unpacked.path().to_path_buf()
    };
    let files = qemu_monitor_layer_gen::build::declaration_files(root).map_err(anyhow::Error::msg)?;
    let schema = qemu_monitor_layer_gen::model::describe(root, &src, &files).map_err(anyhow::Error::msg)?;
    let function = qemu_monitor_layer_gen::pipeline::signature(&schema, name).map_err(anyhow::Error::msg)?;
    if let Some(dir) = dest.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(
        dest,
        format!(
            "// SPDX-License-Identifier: GPL-2.0-or-later\n//! QMP `{name}` (qapi/{name}.json).\n\nuse crate::prelude::*;\n\n{function}"
        ),
    )?;
    out!("wrote {}", dest.strip_prefix(root).unwrap_or(dest).display());
    let c_name = name.replace('-', "_");
    sh::step(format!(
        "next: write the body of {c_name}() in src/commands/{c_name}.rs (its signature is the one the \
         declaration asks for), then `cargo xtask patches` and `cargo xtask test`"
    ));
    Ok(())
}
