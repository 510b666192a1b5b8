// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask test --quick`: a command author's loop, with the build done.
//!
//! 1. rustfmt over the workspace and over the command files (`src/commands/`, which
//!    cargo fmt never reaches: they are only `include!`d);
//! 2. clippy with `-D warnings`;
//! 3. the tests that need no QEMU build of their own: every crate's unit tests, the
//!    generator's checks, and this crate's integration tests that call the built QEMU
//!    ([`QUICK_TESTS`]); for a crate of your own (`--crate`), its `cargo test`;
//! 4. every `qmp-example` of the crate's schema documentation (`qapi/*.json`) sent to
//!    the development VM in file order, each reply compared with the example's: the
//!    same kind (return or error, and an error's class) and, for a returned value,
//!    every member the example shows present with a value of the same JSON type (the
//!    values themselves depend on the VM); and each HMP command of `qapi/*.hx` called,
//!    with its documented `(qemu) ` lines or, when it takes no mandatory argument,
//!    alone, its output free of the monitor's error forms;
//! 5. the crate's transcripts, `tests/transcripts/*.txt` (each on a VM of its own):
//!    QMP commands (`-> …`) with the exact reply (`<- …`, where the string `"<any>"`
//!    matches any value), and HMP lines (`(qemu) …`) with their exact output (where
//!    `<any>` matches any text).
//!    `cargo xtask new-command` writes one for each new command.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use qemu_monitor_layer_gen::model::{Direction, example_messages};
use serde_json::Value;

use crate::call::{self, dev_vm};
use crate::qemu::{self, Built, Layout};
use crate::sh;

/// This repository's integration tests that run in the quick tier: each calls the
/// built QEMU or checks the generator in seconds. The others (compile-fail builds, the
/// generated glue's builds, valgrind, load, libvirt) run in the full `cargo xtask test`.
pub const QUICK_TESTS: &[&str] =
    &["chardev", "hmp", "layer_c", "qmp", "query", "reader", "staticlib", "stdout", "vm"];

/// The workspace crates whose every test runs in the quick tier.
const QUICK_CRATES: &[&str] = &[
    "tools",
    "harness",
    "qemu-monitor-layer",
    "qemu-monitor-layer-gen",
    "qemu-monitor-layer-build",
    "qemu-hello-agent",
    "xtask",
];

/// Of [`QUICK_CRATES`], the one built against the release's headers; the others' tests
/// read no release (`xtask`'s `call` and `shell` tests drive whichever QEMU is built, with
/// the same code for each).
const RELEASE_BOUND_CRATES: &[&str] = &["qemu-monitor-layer", "qemu-hello-agent"];

/// Which workspace crates' tests the quick tier runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Crates {
    /// All of [`QUICK_CRATES`].
    All,
    /// Only those built against the release (`cargo xtask test --all-versions` runs the
    /// others once, with the default release).
    ReleaseBound,
}

/// The quick tier against `built`; returns how long it took.
pub fn quick(built: &Built, crates: Crates) -> Result<std::time::Duration> {
    let started = Instant::now();
    let l = &built.layout;
    fmt_check()?;
    clippy(l)?;
    // The book reads no release: with the crates that read none.
    if sh::crate_dir() == sh::root() && matches!(crates, Crates::All) {
        crate::book::book()?;
    }
    tests(built, crates)?;
    examples(built)?;
    transcripts(built)?;
    let took = started.elapsed();
    sh::step(format!("the quick tier passed in {:.0} s (QEMU {})", took.as_secs_f64(), l.version.name));
    Ok(took)
}

/// `cargo fmt --check`, and rustfmt on the command files, which are only `include!`d
/// (and, in this repository, on the book's command samples, `docs/samples/`, which
/// tests/new_command.rs builds into QEMU).
pub fn fmt_check() -> Result<()> {
    let dir = sh::crate_dir();
    sh::step("cargo fmt --check, and rustfmt --check on src/commands/ (and docs/samples/)");
    let mut fmt = qemu::cargo();
    fmt.current_dir(dir).args(["fmt", "--check"]);
    if dir == sh::root() {
        fmt.arg("--all");
    }
    sh::run(&mut fmt)?;
    let mut files = command_files(&dir.join("src/commands"))?;
    if dir == sh::root() {
        files.extend(command_files(&dir.join("docs/samples"))?);
    }
    if !files.is_empty() {
        // rustfmt finds the crate's rustfmt.toml from each file's directory.
        sh::run(
            tools::command("rustfmt")?.current_dir(dir).args(["--check", "--edition", "2024"]).args(&files),
        )
        .context("a command file is not formatted: run rustfmt on it")?;
    }
    Ok(())
}

fn command_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if dir.is_dir() {
        for e in fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                files.extend(command_files(&p)?);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// clippy over the workspace (or the crate), its cfg following `l`'s release.
pub fn clippy(l: &Layout) -> Result<()> {
    sh::step(format!("cargo clippy --all-targets -- -D warnings (QEMU {})", l.version.name));
    let dir = sh::crate_dir();
    let mut clippy = qemu::cargo();
    clippy.current_dir(dir).arg("clippy");
    if dir == sh::root() {
        clippy.arg("--workspace");
    }
    clippy.args(["--all-targets", "--", "-D", "warnings"]);
    qemu::cargo_env(l, &mut clippy);
    sh::run(&mut clippy)
}

/// The environment the tests find the build in.
pub fn test_env(built: &Built, cmd: &mut std::process::Command) {
    let l = &built.layout;
    cmd.env(harness::BINARY_ENV, &built.binary)
        .env("QEMU_HELLO_STATICLIB", l.staticlib())
        .env("QEMU_HELLO_VERSION", &built.release)
        .env("QEMU_HELLO_SERIES", l.version.name);
    // The Debian version the tree was unpacked from (none for an upstream tree).
    match &built.debian {
        Some(debian) => cmd.env("QEMU_HELLO_DEBIAN", debian),
        None => cmd.env_remove("QEMU_HELLO_DEBIAN"),
    };
    // The guest agent with the agent crate's library (agent/tests/socket.rs).
    if let Some(agent) = &built.agent {
        cmd.env(harness::agent::AGENT_BINARY_ENV, agent);
    }
    qemu::cargo_env(l, cmd);
}

fn tests(built: &Built, crates: Crates) -> Result<()> {
    let dir = sh::crate_dir();
    if dir != sh::root() {
        sh::step(format!("the crate's own tests (cargo test in {})", dir.display()));
        let mut test = qemu::cargo();
        test.current_dir(dir).arg("test");
        test_env(built, &mut test);
        return sh::run(&mut test);
    }
    let chosen = if crates == Crates::All { QUICK_CRATES } else { RELEASE_BOUND_CRATES };
    sh::step(format!("the tests of {}", chosen.join(", ")));
    let mut test = qemu::cargo();
    test.current_dir(dir).arg("test");
    for c in chosen {
        test.args(["-p", c]);
    }
    test_env(built, &mut test);
    sh::run(&mut test)?;
    sh::step(format!("this crate's unit tests and tests/{{{}}}.rs", QUICK_TESTS.join(",")));
    let mut test = qemu::cargo();
    test.current_dir(dir).args(["test", "-p", "qemu-hello-rs", "--lib"]);
    for t in QUICK_TESTS {
        test.args(["--test", t]);
    }
    test_env(built, &mut test);
    sh::run(&mut test)
}

/// The slow integration tests of this repository: every `tests/*.rs` not in
/// [`QUICK_TESTS`].
pub fn slow_tests() -> Result<Vec<String>> {
    let mut slow: Vec<String> = fs::read_dir(sh::root().join("tests"))?
        .filter_map(|e| e.ok()?.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|stem| {
            sh::root().join("tests").join(format!("{stem}.rs")).is_file()
                && !QUICK_TESTS.contains(&stem.as_str())
        })
        .collect();
    slow.sort();
    Ok(slow)
}

/// One example of the schema documentation: where it is, and its messages.
#[derive(Debug, PartialEq)]
pub struct Example {
    pub at: String,
    pub messages: Vec<(Direction, Value)>,
}

/// The examples of the crate's schema documentation, in order, as QEMU's QAPI front end
/// (of the tree `src`) reads the doc comments; each placed at its comment's file and line.
pub fn schema_examples(src: &std::path::Path) -> Result<Vec<Example>> {
    let schema = harness::declared::schema_in(sh::crate_dir(), src);
    let mut examples = Vec::new();
    for doc in &schema.docs {
        for (i, text) in doc.examples.iter().enumerate() {
            let at = format!("{}:{} ({}, example {})", doc.file, doc.line, doc.symbol, i + 1);
            let messages = example_messages(text).map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
            examples.push(Example { at, messages });
        }
    }
    Ok(examples)
}

/// Whether `got` has every member `expected` shows, each of the same JSON type (arrays:
/// each element like the example's first); the first difference, by its path.
pub fn same_shape(expected: &Value, got: &Value, path: &str) -> Result<(), String> {
    match (expected, got) {
        (Value::Object(e), Value::Object(g)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                let gv = g.get(k).ok_or_else(|| format!("{p} is missing"))?;
                same_shape(ev, gv, &p)?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(g)) => match e.first() {
            Some(first) => {
                g.iter().enumerate().try_for_each(|(i, gv)| same_shape(first, gv, &format!("{path}[{i}]")))
            }
            None => Ok(()),
        },
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => Ok(()),
        _ => Err(format!("{path} is {got}, where the example has {expected}")),
    }
}

/// A reply against the example's: the same kind, an error's class, a return's shape.
fn matches_example(expected: &Value, got: &Value) -> Result<(), String> {
    match (expected.get("return"), got.get("return")) {
        (Some(e), Some(g)) => same_shape(e, g, "return"),
        (None, None) => match (&expected["error"]["class"], &got["error"]["class"]) {
            (Value::String(e), Value::String(g)) if e == g => Ok(()),
            _ => Err(format!("the error is {got}, where the example has {expected}")),
        },
        _ => Err(format!("the reply is {got}, where the example has {expected}")),
    }
}

fn schema_files(ext: &str) -> Result<Vec<PathBuf>> {
    let dir = sh::crate_dir().join("qapi");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    Ok(files)
}

fn examples(built: &Built) -> Result<()> {
    let examples = schema_examples(&built.layout.src)?;
    let sent: Vec<(&Example, &Value, Option<&Value>)> = examples
        .iter()
        .flat_map(|ex| {
            ex.messages.iter().enumerate().filter(|(_, (d, _))| *d == Direction::Sent).map(
                move |(i, (_, m))| {
                    let reply = ex.messages[i + 1..]
                        .iter()
                        .find(|(d, v)| *d == Direction::Received && v.get("event").is_none())
                        .map(|(_, v)| v);
                    (ex, m, reply)
                },
            )
        })
        .collect();
    let hmp = hmp_calls()?;
    sh::step(format!(
        "the schema's {} qmp-examples ({} commands) and {} HMP calls on the development VM",
        examples.len(),
        sent.len(),
        hmp.len()
    ));
    let vm = harness::Qemu::start(&built.binary, &dev_vm(&call::crate_name()))?;
    let mut requests: Vec<Value> = sent.iter().map(|(_, m, _)| (*m).clone()).collect();
    requests.extend(hmp.iter().map(|(_, line)| call::hmp_request(line)));
    let replies = call::send(&built.layout, &vm.qmp_socket(), &requests)?;
    let mut wrong = Vec::new();
    for ((ex, m, expected), got) in sent.iter().zip(&replies) {
        let verdict = match expected {
            Some(e) => matches_example(e, got),
            None => Err("the example shows no reply".into()),
        };
        match verdict {
            Ok(()) => eprintln!("   ok {}: {m}", ex.at),
            Err(why) => wrong.push(format!("{}: {m}: {why}", ex.at)),
        }
    }
    for ((at, line), got) in hmp.iter().zip(&replies[sent.len()..]) {
        let text = got["return"].as_str().unwrap_or_default();
        match hmp_error(text) {
            None => eprintln!("   ok {at}: (qemu) {line}"),
            Some(e) => wrong.push(format!("{at}: (qemu) {line}: {e}")),
        }
    }
    if !wrong.is_empty() {
        bail!("{} of the documentation's calls answer otherwise:\n{}", wrong.len(), wrong.join("\n"));
    }
    Ok(())
}

/// The monitor's ways of saying a command line failed, if `text` has one.
fn hmp_error(text: &str) -> Option<&str> {
    text.lines().find(|l| {
        l.starts_with("Error")
            || l.starts_with("unknown command")
            || l.contains("Try \"help\"")
            || l.starts_with("Parameter '")
            || l.contains("is missing")
    })
}

/// Each HMP command of the crate's `.hx` files: its documented `(qemu) ` lines, or the
/// command alone when its arguments are all optional (`info` subcommands from
/// `*.info.hx`).
fn hmp_calls() -> Result<Vec<(String, String)>> {
    let mut calls = Vec::new();
    for f in schema_files("hx")? {
        let text = fs::read_to_string(&f)?;
        let at = f.strip_prefix(sh::crate_dir()).unwrap_or(&f).display().to_string();
        let info = f.to_string_lossy().ends_with(".info.hx");
        let field = |key: &str| {
            text.lines().find_map(|l| {
                let l = l.trim().strip_prefix(key)?.trim_start().strip_prefix('=')?;
                Some(l.trim().trim_end_matches(',').trim_matches('"').to_string())
            })
        };
        let Some(name) = field(".name") else { bail!("{at}: no .name") };
        let documented: Vec<String> =
            text.lines().filter_map(|l| l.trim().strip_prefix("(qemu) ").map(String::from)).collect();
        if !documented.is_empty() {
            calls.extend(documented.into_iter().map(|l| (at.clone(), l)));
            continue;
        }
        let args = field(".args_type").unwrap_or_default();
        // Every argument optional: `name:s?`, a flag `name:-f`, an option `name:-os`.
        let optional = args.split(',').filter(|a| !a.is_empty()).all(|a| {
            let kind = a.split_once(':').map_or("", |(_, k)| k);
            kind.ends_with('?') || kind.starts_with('-')
        });
        if !optional {
            bail!(
                "{at}: {name} takes a mandatory argument and its documentation shows no call: add a \
                 `(qemu) {name} …` line to its SRST"
            );
        }
        calls.push((at, if info { format!("info {name}") } else { name }));
    }
    Ok(calls)
}

/// One step of a transcript: a QMP command with its reply, or an HMP line with its
/// output.
#[derive(Debug, PartialEq)]
pub enum Step {
    Qmp { at: String, command: Value, reply: Value },
    Hmp { at: String, line: String, output: Vec<String> },
}

/// Parses a transcript: `#` comments, `-> JSON` / `<- JSON` pairs (a message may go on
/// over the lines that follow), `(qemu) LINE` followed by its exact output lines.
pub fn parse_transcript(file: &str, text: &str) -> Result<Vec<Step>> {
    enum Open {
        Json(bool, usize, String),
        Hmp(usize, String, Vec<String>),
    }
    let mut steps = Vec::new();
    let mut pending: Option<(usize, Value)> = None;
    let mut open: Option<Open> = None;
    let lines: Vec<&str> = text.lines().chain(std::iter::once("")).collect();
    let close =
        |open: Option<Open>, steps: &mut Vec<Step>, pending: &mut Option<(usize, Value)>| -> Result<()> {
            match open {
                None => Ok(()),
                Some(Open::Hmp(n, line, output)) => {
                    steps.push(Step::Hmp { at: format!("{file}:{n}"), line, output });
                    Ok(())
                }
                Some(Open::Json(sent, n, text)) => {
                    let v: Value = serde_json::from_str(&text)
                        .with_context(|| format!("{file}:{n}: not JSON: {}", text.trim()))?;
                    match (sent, pending.take()) {
                        (true, None) => *pending = Some((n, v)),
                        (false, Some((at, command))) => {
                            steps.push(Step::Qmp { at: format!("{file}:{at}"), command, reply: v })
                        }
                        (true, Some((at, _))) => bail!("{file}:{at}: a command without its reply (`<- …`)"),
                        (false, None) => bail!("{file}:{n}: a reply without its command (`-> …`)"),
                    }
                    Ok(())
                }
            }
        };
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        let l = raw.trim_end();
        if let Some(rest) = l.strip_prefix("->").or_else(|| l.strip_prefix("<-")) {
            close(open.take(), &mut steps, &mut pending)?;
            open = Some(Open::Json(l.starts_with("->"), n, rest.to_string()));
        } else if let Some(rest) = l.strip_prefix("(qemu) ") {
            close(open.take(), &mut steps, &mut pending)?;
            open = Some(Open::Hmp(n, rest.to_string(), Vec::new()));
        } else if l.starts_with('#') || l.is_empty() {
            close(open.take(), &mut steps, &mut pending)?;
        } else {
            match &mut open {
                Some(Open::Json(_, _, text)) => {
                    text.push('\n');
                    text.push_str(l);
                }
                Some(Open::Hmp(_, _, output)) => output.push(l.to_string()),
                None => bail!("{file}:{n}: expected `-> `, `<- `, `(qemu) ` or a `#` comment: {l}"),
            }
        }
    }
    if let Some((at, _)) = pending {
        bail!("{file}:{at}: a command without its reply (`<- …`)");
    }
    Ok(steps)
}

/// Exact JSON equality, where the string `"<any>"` in `expected` matches any value.
pub fn same_value(expected: &Value, got: &Value) -> bool {
    match (expected, got) {
        (Value::String(s), _) if s == "<any>" => true,
        (Value::Object(e), Value::Object(g)) => {
            e.len() == g.len() && e.iter().all(|(k, ev)| g.get(k).is_some_and(|gv| same_value(ev, gv)))
        }
        (Value::Array(e), Value::Array(g)) => {
            e.len() == g.len() && e.iter().zip(g).all(|(a, b)| same_value(a, b))
        }
        _ => expected == got,
    }
}

/// An HMP output line against the transcript's, where `<any>` matches any text.
pub fn same_line(expected: &str, got: &str) -> bool {
    let mut parts = expected.split("<any>");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = got.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

fn transcripts(built: &Built) -> Result<()> {
    let dir = sh::crate_dir().join("tests/transcripts");
    let mut files: Vec<PathBuf> = match fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    files.retain(|p| p.extension().is_some_and(|x| x == "txt"));
    files.sort();
    sh::step(format!("{} transcripts in tests/transcripts/, each on a VM of its own", files.len()));
    let mut wrong = Vec::new();
    for f in &files {
        let name = f.strip_prefix(sh::crate_dir()).unwrap_or(f).display().to_string();
        let steps = parse_transcript(&name, &fs::read_to_string(f)?)?;
        let requests: Vec<Value> = steps
            .iter()
            .map(|s| match s {
                Step::Qmp { command, .. } => command.clone(),
                Step::Hmp { line, .. } => call::hmp_request(line),
            })
            .collect();
        let vm = harness::Qemu::start(&built.binary, &dev_vm(&call::crate_name()))?;
        let replies = call::send(&built.layout, &vm.qmp_socket(), &requests)?;
        for (step, got) in steps.iter().zip(&replies) {
            match step {
                Step::Qmp { at, command, reply } => {
                    if !same_value(reply, got) {
                        wrong.push(format!("{at}: {command}\n  expected {reply}\n  got      {got}"));
                    }
                }
                Step::Hmp { at, line, output } => {
                    let text = call::render(got, true, false);
                    let got_lines: Vec<&str> =
                        text.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
                    let same = got_lines.len() == output.len()
                        && output.iter().zip(&got_lines).all(|(e, g)| same_line(e, g));
                    if !same {
                        wrong.push(format!(
                            "{at}: (qemu) {line}\n  expected {output:?}\n  got      {got_lines:?}"
                        ));
                    }
                }
            }
        }
        eprintln!("   {name}: {} steps", steps.len());
    }
    if !wrong.is_empty() {
        bail!("{} transcript steps answer otherwise:\n{}", wrong.len(), wrong.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_compare_members_and_types_not_values() {
        let ex = json!({"a": 1, "b": "x", "c": [{"d": true}]});
        assert_eq!(same_shape(&ex, &json!({"a": 7, "b": "y", "c": [], "extra": 0}), "return"), Ok(()));
        assert_eq!(same_shape(&ex, &json!({"a": 7, "c": []}), "return"), Err("return.b is missing".into()));
        assert_eq!(
            same_shape(&ex, &json!({"a": "7", "b": "y", "c": []}), "return"),
            Err("return.a is \"7\", where the example has 1".into())
        );
        assert!(same_shape(&ex, &json!({"a": 1, "b": "", "c": [{"d": 0}]}), "return").is_err());
        assert!(
            matches_example(&json!({"return": {}}), &json!({"error": {"class": "GenericError"}})).is_err()
        );
        assert!(
            matches_example(
                &json!({"error": {"class": "GenericError"}}),
                &json!({"error": {"class": "GenericError"}})
            )
            .is_ok()
        );
    }

    #[test]
    fn a_transcript_parses_and_any_matches_anything() {
        let text = "# hello\n-> { \"execute\": \"x\" }\n<- { \"return\":\n     { \"n\": \"<any>\" } }\n\n(qemu) info x\nn: 1\n";
        let steps = parse_transcript("t.txt", text).unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Qmp {
                    at: "t.txt:2".into(),
                    command: json!({"execute": "x"}),
                    reply: json!({"return": {"n": "<any>"}})
                },
                Step::Hmp { at: "t.txt:6".into(), line: "info x".into(), output: vec!["n: 1".into()] },
            ]
        );
        let Step::Qmp { reply, .. } = &steps[0] else { unreachable!() };
        assert!(same_value(reply, &json!({"return": {"n": [1, 2]}})));
        assert!(!same_value(reply, &json!({"return": {"n": 1, "m": 2}})));
        assert!(parse_transcript("t.txt", "-> {}\n-> {}\n<- {}\n").is_err());
        assert!(same_line("cpu 0 (thread <any>)", "cpu 0 (thread 12)"));
        assert!(!same_line("cpu 0 (thread <any>)", "cpu 0 (thread 12"));
        assert!(same_line("a", "a") && !same_line("a", "ab") && same_line("<any>", "x"));
        assert!(parse_transcript("t.txt", "stray\n").is_err());
    }
}
