// SPDX-License-Identifier: GPL-2.0-or-later
//! The patch series and `qapi/` agree: what the series adds to `qapi/misc.json` is the
//! schema fragment in `qapi/`, and the HMP entry matches what the Rust side expects.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every series: `qemu-patches/<version>/` and `qemu-patches/reference-c/<version>/`.
fn series_dirs() -> Vec<PathBuf> {
    let has_patches = |d: &Path| {
        fs::read_dir(d).unwrap().any(|e| e.unwrap().path().extension().is_some_and(|x| x == "patch"))
    };
    let mut dirs = Vec::new();
    for top in [root().join("qemu-patches"), root().join("qemu-patches/reference-c")] {
        for e in fs::read_dir(top).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && has_patches(&p) {
                dirs.push(p);
            }
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

/// The schema fragment for a series: `qapi/<version>/hello-world.json` if the version
/// needs its own (older doc syntax), else `qapi/hello-world.json`.
fn fragment_for(series: &Path) -> String {
    let version = series.file_name().unwrap();
    let specific = root().join("qapi").join(version).join("hello-world.json");
    let path = if specific.is_file() { specific } else { root().join("qapi/hello-world.json") };
    fs::read_to_string(path).unwrap()
}

#[test]
fn each_series_adds_exactly_the_qapi_fragment() {
    for dir in series_dirs() {
        let added = added_lines(&dir, "qapi/misc.json").join("\n");
        assert_eq!(
            added.trim(),
            fragment_for(&dir).trim(),
            "{}: the schema entry added to qapi/misc.json differs from qapi/",
            dir.display()
        );
    }
}

#[test]
fn each_series_adds_the_hmp_entry_and_prototype() {
    for dir in series_dirs() {
        let hx = added_lines(&dir, "hmp-commands.hx").join("\n");
        for needle in [
            ".name       = \"hello-world\",",
            ".args_type  = \"message:S?\",",
            ".params     = \"[message]\",",
            ".cmd        = hmp_hello_world,",
            "SRST",
            "ERST",
        ] {
            assert!(hx.contains(needle), "{}: hmp-commands.hx entry lacks {needle:?}", dir.display());
        }
        let hmp_h = added_lines(&dir, "include/monitor/hmp.h");
        assert_eq!(hmp_h, ["void hmp_hello_world(Monitor *mon, const QDict *qdict);"], "{}", dir.display());
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

#[test]
fn every_schema_fragment_declares_the_same_command() {
    // Older releases need an older doc syntax, never a different command.
    let expr = |text: &str| text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
    let canonical = fs::read_to_string(root().join("qapi/hello-world.json")).unwrap();
    for dir in series_dirs() {
        assert_eq!(expr(&fragment_for(&dir)).trim(), expr(&canonical).trim(), "{}", dir.display());
    }
}
