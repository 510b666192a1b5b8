// SPDX-License-Identifier: GPL-2.0-or-later
//! The tools table is the only way a program is started, and it is true.
//!
//! 1. No `Command::new` anywhere in the workspace's Rust outside this crate: the
//!    driver, the harness and the tests start programs through `tools::command` (from
//!    the table, installed first) or `tools::built` (built here, or given by path). The
//!    layer's build crate, which command crates use at build time and which cannot
//!    depend on this project's table, may start programs itself, but each it names must
//!    be in the table (the driver installs them before any build).
//! 2. Every program named by `tools::command("…")` or `tools::cmd("…")` is in the table.
//! 3. Each installed package of the table ships the program the table says it does.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy();
        if p.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// The string literal that opens `rest`, if it does.
fn literal(rest: &str) -> Option<&str> {
    let rest = rest.trim_start().strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

#[test]
fn every_program_is_started_through_the_table() {
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let new = concat!("Command", "::new(");
    let via = [concat!("tools", "::command("), concat!("tools", "::cmd(")];
    let mut wrong = Vec::new();
    let mut named = 0;
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        if rel.starts_with("tools") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", rel.display(), n + 1);
            for (i, _) in line.match_indices(new) {
                let program = literal(&line[i + new.len()..]);
                if !rel.starts_with("layer-gen") {
                    wrong.push(format!(
                        "{at}: starts a program with Command::new; use tools::command (a program of \
                         the table) or tools::built (one this project builds)"
                    ));
                } else if let Some(p) = program.filter(|p| tools::source_of(p).is_none()) {
                    wrong.push(format!("{at}: `{p}` is not in the tools table"));
                }
            }
            for (i, m) in via.iter().flat_map(|v| line.match_indices(v)) {
                match literal(&line[i + m.len()..]) {
                    Some(p) if tools::source_of(p).is_none() => {
                        wrong.push(format!("{at}: `{p}` is not in the tools table"))
                    }
                    Some(_) => named += 1,
                    // A name computed at run time: `command` refuses it there if unknown.
                    None => {}
                }
            }
        }
    }
    assert!(wrong.is_empty(), "programs started outside the tools table:\n{}", wrong.join("\n"));
    // The scan found the calls it checks (it would pass on an empty tree otherwise).
    assert!(named > 50, "only {named} tools::command calls found in {} files", files.len());
    eprintln!("{named} calls of tools::command in {} files, each in the table", files.len());
}

/// The files a package ships, if it is installed.
fn shipped(package: &str) -> Option<Vec<String>> {
    let out = Command::new("dpkg-query").args(["-L", package]).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect())
}

#[test]
fn each_installed_package_ships_its_program() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for &(program, source) in tools::TABLE {
        let tools::Source::Debian(package) = source else { continue };
        let Some(files) = shipped(package) else { continue };
        let ships =
            |f: &str| ["/bin/", "/sbin/"].iter().any(|d| f.ends_with(&format!("{d}{f2}", f2 = program)));
        // A program managed by update-alternatives (cc) ships under another name.
        let alternatives = Command::new("update-alternatives").args(["--list", program]).output().unwrap();
        let alternative = String::from_utf8_lossy(&alternatives.stdout).lines().any(|target| {
            files.iter().any(|f| f == target || Some(f.as_str()) == target.strip_prefix("/usr"))
        });
        if files.iter().any(|f| ships(f)) || alternative {
            checked += 1;
        } else {
            wrong.push(format!("{program}: Debian's {package} is installed but ships no bin/{program}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // dpkg, apt and coreutils are on every Debian machine.
    assert!(checked >= 10, "only {checked} packages of the table installed");
    eprintln!("{checked} programs of {} checked against their installed package", tools::TABLE.len());
}
