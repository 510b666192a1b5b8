// SPDX-License-Identifier: GPL-2.0-or-later
//! The patch series and `qapi/` agree: each series adds every declared schema entry to
//! `qapi/misc.json` and every HMP entry to `hmp-commands.hx`, with its prototype, each
//! under CONFIG_MONITOR_RUST_LIB, and every guest agent declaration of `agent/qapi/` to
//! `qga/qapi-schema.json` under CONFIG_AGENT_RUST_LIB. (That the series are exactly what
//! the declarations generate is `cargo xtask patches --check`.)

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every series: `qemu-patches/<version>/`.
fn series_dirs() -> Vec<PathBuf> {
    let has_patches = |d: &Path| {
        fs::read_dir(d).unwrap().any(|e| e.unwrap().path().extension().is_some_and(|x| x == "patch"))
    };
    let mut dirs = Vec::new();
    for e in fs::read_dir(root().join("qemu-patches")).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && has_patches(&p) {
            dirs.push(p);
        }
    }
    dirs.sort();
    assert!(dirs.len() >= 2, "no series under qemu-patches/");
    dirs
}

/// The lines a series adds to `file`, without the leading `+`.
fn added_lines(series: &Path, file: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut patches: Vec<PathBuf> = fs::read_dir(series)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "patch"))
        .collect();
    patches.sort();
    for p in patches {
        let text = fs::read_to_string(&p).unwrap();
        let mut in_file = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("diff --git a/") {
                in_file = rest.split(' ').next() == Some(file);
            } else if in_file && !line.starts_with("+++") {
                if let Some(added) = line.strip_prefix('+') {
                    out.push(added.to_string());
                }
            }
        }
    }
    out
}

/// The declaration files in `qapi/` with extension `ext`.
fn declarations(ext: &str) -> Vec<PathBuf> {
    declarations_in("qapi", ext)
}

/// The declaration files in `dir` (relative to the repository) with extension `ext`.
fn declarations_in(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    v.sort();
    v
}

/// A schema's expressions: its lines without doc comments (whose syntax differs by release).
fn expressions(text: &str) -> String {
    text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n").trim().to_string()
}

/// The QAPI condition the product's series puts every schema entry under.
const CONDITION: &str = "'if': 'CONFIG_MONITOR_RUST_LIB'";

#[test]
fn each_series_adds_every_declared_schema_entry() {
    let schemas = declarations(".json");
    assert!(!schemas.is_empty(), "no declarations in qapi/");
    // A file's includes of QEMU's modules go, unconditional and once, beside misc.json's own.
    let is_include = |l: &&str| l.starts_with("{ 'include'");
    let mut includes: Vec<String> = schemas
        .iter()
        .flat_map(|p| {
            fs::read_to_string(p).unwrap().lines().filter(is_include).map(String::from).collect::<Vec<_>>()
        })
        .collect();
    includes.sort();
    includes.dedup();
    for dir in series_dirs() {
        let lines = added_lines(&dir, "qapi/misc.json");
        let mut added_includes: Vec<String> =
            lines.iter().map(String::as_str).filter(is_include).map(String::from).collect();
        added_includes.sort();
        assert_eq!(added_includes, includes, "{}: the includes of QEMU's modules", dir.display());
        let lines: Vec<&str> = lines.iter().map(String::as_str).filter(|l| !is_include(l)).collect();
        let added = expressions(&lines.join("\n"));
        let declared: Vec<String> = schemas
            .iter()
            .map(|p| {
                let text = fs::read_to_string(p).unwrap();
                expressions(&text.lines().filter(|l| !is_include(l)).collect::<Vec<_>>().join("\n"))
            })
            .collect();
        // Each entry as declared, under the condition the meson option sets.
        let declared = declared.join("\n\n");
        let entries = declared.lines().filter(|l| l.starts_with("{ '")).count();
        assert_eq!(
            added.matches(CONDITION).count(),
            entries,
            "{}: not every schema entry is under {CONDITION}:\n{added}",
            dir.display()
        );
        assert_eq!(
            added.replace(&format!(",\n  {CONDITION} }}"), " }"),
            declared,
            "{}: the schema entries differ from qapi/",
            dir.display()
        );
    }
}

/// The condition the series puts every guest agent declaration under.
const AGENT_CONDITION: &str = "'if': 'CONFIG_AGENT_RUST_LIB'";

#[test]
fn each_series_adds_every_agent_declaration_to_the_agents_schema() {
    let schemas = declarations_in("agent/qapi", ".json");
    assert!(!schemas.is_empty(), "no declarations in agent/qapi/");
    let declared: Vec<String> =
        schemas.iter().map(|p| expressions(&fs::read_to_string(p).unwrap())).collect();
    let declared = declared.join("\n\n");
    let entries = declared.lines().filter(|l| l.starts_with("{ '")).count();
    for dir in series_dirs() {
        let added = expressions(&added_lines(&dir, "qga/qapi-schema.json").join("\n"));
        assert_eq!(added.matches(AGENT_CONDITION).count(), entries, "{}:\n{added}", dir.display());
        let mut added_entries: Vec<String> = added
            .replace(&format!(",\n  {AGENT_CONDITION} }}"), " }")
            .split("\n\n")
            .map(String::from)
            .collect();
        let mut declared_entries: Vec<String> = declared.split("\n\n").map(String::from).collect();
        // The series orders files by the types they use; compare the entries as a set.
        added_entries.sort();
        declared_entries.sort();
        assert_eq!(
            added_entries,
            declared_entries,
            "{}: the agent's entries differ from agent/qapi/",
            dir.display()
        );
        assert_eq!(
            added_lines(&dir, "qga/meson.build").iter().filter(|l| l.contains("agent_rust_lib")).count(),
            5,
            "{}: qga/meson.build does not link the agent's library",
            dir.display()
        );
    }
}

#[test]
fn each_series_adds_every_declared_hmp_entry_and_prototype() {
    for dir in series_dirs() {
        let hx = added_lines(&dir, "hmp-commands.hx").join("\n");
        let hmp_h = added_lines(&dir, "include/monitor/hmp.h");
        for decl in declarations(".hx").into_iter().filter(|p| !p.to_string_lossy().ends_with(".info.hx")) {
            let entry = fs::read_to_string(&decl).unwrap();
            // The table part under the condition; the doc outside, for the manual.
            let (table, doc) = entry.split_once("SRST\n").expect("an HMP entry has its SRST doc");
            let expected = format!(
                "#if defined(CONFIG_MONITOR_RUST_LIB)\n{}\n#endif\n\nSRST\n{}",
                table.trim_end(),
                doc.trim_end()
            );
            assert!(
                hx.contains(&expected),
                "{}: hmp-commands.hx lacks {}:\n{expected}",
                dir.display(),
                decl.display()
            );
            let cmd = entry.lines().find_map(|l| l.trim().strip_prefix(".cmd")).unwrap();
            let cmd = cmd.trim_start_matches([' ', '=']).trim_end_matches(',');
            let proto = format!("void {cmd}(Monitor *mon, const QDict *qdict);");
            assert!(hmp_h.contains(&proto), "{}: include/monitor/hmp.h lacks {proto}", dir.display());
        }
    }
}

#[test]
fn each_patch_is_signed_off_and_has_one_subject() {
    for dir in series_dirs() {
        for entry in fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_none_or(|e| e != "patch") {
                continue;
            }
            let text = fs::read_to_string(&p).unwrap();
            assert!(text.starts_with("From "), "{}: not git format-patch output", p.display());
            assert_eq!(
                text.lines().filter(|l| l.starts_with("Subject: [PATCH")).count(),
                1,
                "{}",
                p.display()
            );
            assert!(text.contains("\nSigned-off-by: "), "{}: no Signed-off-by", p.display());
        }
    }
}
