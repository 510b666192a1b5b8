// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's own manual documents what `qapi/` declares: the QMP reference (`qemu-qmp-ref(7)`,
//! rendered by QEMU's docs build with Sphinx from the series tree) has every command,
//! event and struct of ours with its members, their text and its example, and says each
//! exists only with CONFIG_MONITOR_RUST_LIB; the patched monitor's `help` and `help info`
//! show every HMP entry with its parameters and help text.
//!
//! The QMP reference test needs the rendered page: `cargo xtask test` (default release)
//! builds it and names it in `QEMU_HELLO_QMP_MANUAL`; run alone, it fails saying so.

use std::path::{Path, PathBuf};

use harness::commands::HumanMonitorCommand;
use harness::declared;
use harness::{Options, Qemu, binary_from_env};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whitespace runs as one space: the renderer wraps and indents as it likes.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The man page as `man` shows it, without formatting, on one very long line per paragraph.
fn rendered_manual() -> String {
    let page = std::env::var_os("QEMU_HELLO_QMP_MANUAL").map(PathBuf::from).expect(
        "QEMU_HELLO_QMP_MANUAL is not set: it names qemu-qmp-ref.7 as QEMU's docs build renders it; \
         `cargo xtask test` (or `cargo xtask test --series`) builds it",
    );
    assert!(page.is_file(), "QEMU_HELLO_QMP_MANUAL={} does not exist", page.display());
    let out = tools::cmd("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "2000")
        .env("MAN_KEEP_FORMATTING", "")
        .env("MANPAGER", "cat")
        .output()
        .expect("man runs (man-db)");
    assert!(out.status.success(), "man -l {}: {}", page.display(), String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("the page renders as UTF-8");
    // man without a terminal still leaves backspace overstrikes in some setups: drop them.
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            clean.pop();
        } else {
            clean.push(c);
        }
    }
    clean
}

/// Sphinx renders quotes typographically; compare text with plain ones.
fn plain_quotes(text: &str) -> String {
    text.replace(['\u{201c}', '\u{201d}'], "\"").replace(['\u{2018}', '\u{2019}'], "'")
}

#[test]
#[ignore = "run by `cargo xtask test`: needs QEMU_HELLO_QMP_MANUAL, the QMP reference rendered by QEMU's docs build"]
fn the_qmp_reference_documents_every_declaration() {
    let manual = rendered_manual();
    let flat = plain_quotes(&squeeze(&manual));
    for def in declared::definitions(root()) {
        let heading = match def.meta.as_str() {
            "command" => format!("Command {}", def.name),
            "event" => format!("Event {}", def.name),
            "struct" | "union" => format!("Object {}", def.name),
            other => panic!("{}: no manual heading known for a {other}", def.name),
        };
        let at = flat.find(&heading).unwrap_or_else(|| panic!("the manual has no {heading:?}"));
        // This definition's section: up to the next definition's heading.
        let rest = &flat[at + heading.len()..];
        let end = ["Command ", "Event ", "Object ", "Enum ", "Alternate "]
            .iter()
            .filter_map(|h| rest.find(&format!(" {h}")))
            .min()
            .unwrap_or(rest.len());
        let section = &rest[..end];
        assert!(
            section.contains("CONFIG_MONITOR_RUST_LIB"),
            "{heading}: the manual does not say it exists only with CONFIG_MONITOR_RUST_LIB:\n{section}"
        );
        for (member, text) in &def.members {
            assert!(section.contains(member.as_str()), "{heading}: member {member} missing:\n{section}");
            // The member's text, with @references rendered as plain names.
            let words = squeeze(&text.replace('@', ""));
            assert!(
                section.contains(&words),
                "{heading}: the text of {member} ({words:?}) missing:\n{section}"
            );
        }
        for line in &def.example {
            assert!(section.contains(&squeeze(line)), "{heading}: example line {line:?} missing:\n{section}");
        }
    }
}

/// HMP's own documentation: `help` and `help info` of the patched emulator.
#[test]
fn hmp_help_shows_every_entry() {
    let vm = Qemu::start(&binary_from_env(), &Options::default()).expect("QEMU starts");
    let mut qmp = vm.qmp().unwrap();
    let mut hmp = |line: &str| {
        qmp.execute(&HumanMonitorCommand { command_line: line.to_string() }).expect("human-monitor-command")
    };
    let help = hmp("help");
    let help_info = hmp("help info");
    for e in declared::hmp_entries(root()) {
        let (listing, line) = if e.info {
            (&help_info, format!("info {} {} -- {}", e.name, e.params, e.help))
        } else {
            (&help, format!("{} {} -- {}", e.name, e.params, e.help))
        };
        let line = squeeze(&line);
        assert!(listing.lines().any(|l| squeeze(l) == line), "HMP help lacks {line:?}:\n{listing}");
    }
}
