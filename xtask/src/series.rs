// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask test --series` (and `cargo xtask test` for the default release): the
//! series as a QEMU maintainer checks it.
//!
//! In `target/qemu/<version>-series/`, a git tree of the pristine release (Debian's
//! tree, plus the repack fix where Debian's patches lack it) gets the series with
//! `git am`; then, commit by
//! commit, the tree is built configured **without** `--monitor-rust-lib` (as every QEMU
//! build that does not use this project is), and again **with** it, linking the
//! project's staticlib; from the commit that adds `--agent-rust-lib` on, `qemu-ga` links
//! the guest agent's staticlib too. Each step is an incremental ninja run in one build tree, with
//! ccache, so the whole walk costs minutes, not a rebuild per commit. At the end the
//! tree holds the full series configured without the library: its emulator is what
//! tests/conditional.rs checks lacks every command, and the same tree renders QEMU's
//! QMP reference manual (`--enable-docs`, Debian's Sphinx) for tests/manual.rs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::qemu::{self, Flavor, Layout};
use crate::{BuildArgs, deps, sh, source};

/// Debian's Sphinx and its theme for QEMU's manual; man-db for reading it.
pub const DOCS: &[&str] = &["python3-sphinx", "python3-sphinx-rtd-theme", "python3-venv", "man-db"];

/// What the walk leaves for the tests.
pub struct Plain {
    /// The emulator of the full series, configured without the library.
    pub binary: PathBuf,
    /// QEMU's QMP reference manual as rendered by that tree (a man page).
    pub qmp_manual: PathBuf,
}

/// Builds every prefix of the series without and with the library, then the manual.
/// Skipped when the same series already passed (`series.stamp`).
pub fn check(v: &'static crate::versions::Version, args: &BuildArgs) -> Result<Plain> {
    deps::ensure(&[deps::BUILD, DOCS].concat())?;
    let l = Layout::new(v, Flavor::Plain);
    let plain =
        Plain { binary: l.build.join("qemu-system-x86_64"), qmp_manual: l.build.join("docs/qemu-qmp-ref.7") };
    let patches = l.patches()?;
    // The walk depends on the series, on what builds the libraries (the crate's
    // sources, its build script, the agent crate, the layer and its generator, the
    // declarations) and on the walk itself.
    let mut inputs = patches.clone();
    let listed = harness::repo::project_files(
        sh::root(),
        &[
            "src",
            "build.rs",
            "agent",
            "layer",
            "layer-build",
            "layer-gen",
            "qapi",
            "Cargo.toml",
            "Cargo.lock",
            "xtask/src/series.rs",
        ],
    )?;
    inputs.extend(listed.iter().map(|f| sh::root().join(f)));
    let mut stamp = format!("{}\n", args.origin().stamp(v)?);
    for p in &inputs {
        stamp.push_str(&format!("{} {}\n", source::sha256(p)?, p.display()));
    }
    let stamp_file = l.dir.join("series.stamp");
    if fs::read_to_string(&stamp_file).ok().as_deref() == Some(&stamp)
        && plain.binary.is_file()
        && plain.qmp_manual.is_file()
    {
        sh::step(format!("the QEMU {} series already passed its bisection walk and manual build", v.name));
        return Ok(plain);
    }
    let _ = fs::remove_file(&stamp_file);
    qemu::ensure_venv(&l)?;
    let commits = git_tree(&l, args, &patches)?;

    let started = std::time::Instant::now();
    for (i, (commit, subject)) in commits.iter().enumerate() {
        checkout(&l, commit)?;
        if i == 0 {
            qemu::configure(&l)?;
        }
        sh::step(format!("[{}/{}] builds without --monitor-rust-lib: {subject}", i + 1, commits.len()));
        build_all(&l)?;
    }
    sh::step(format!("every prefix builds without the library ({} s)", started.elapsed().as_secs()));
    let plain_walk = started.elapsed();

    // With the libraries: at each commit, ones built from exactly the declarations the
    // tree has by then (a library for the whole series cannot link into a tree that
    // declares less: it calls an event, or defines a handler, the tree lacks). Each
    // stands at one path, so meson is configured once for it and each build relinks. The
    // guest agent's library joins at the commit that adds its option.
    let monitor = Library::monitor(&l);
    let agent = Library::agent(&l);
    qemu::empty_archive(&monitor.archive)?;
    qemu::empty_archive(&agent.archive)?;
    set_option(&l, monitor.option, Some(&monitor.archive))?;
    let mut agent_linked = false;
    for (i, (commit, subject)) in commits.iter().enumerate() {
        checkout(&l, commit)?;
        let mut headers = qemu::HEADERS.to_vec();
        let mut linked = vec![(&monitor, monitor.applied(&l)?)];
        if qemu::has_meson_option(&l.src, agent.option)? {
            if !agent_linked {
                set_option(&l, agent.option, Some(&agent.archive))?;
                agent_linked = true;
            }
            headers.push(qemu::AGENT_HEADER);
            linked.push((&agent, agent.applied(&l)?));
        }
        let what: Vec<String> = linked
            .iter()
            .map(|(lib, declared)| {
                let has =
                    if declared.is_empty() { "an empty library".to_string() } else { declared.join(", ") };
                format!("--{} ({has})", lib.option.replace('_', "-"))
            })
            .collect();
        sh::step(format!("[{}/{}] builds with {}: {subject}", i + 1, commits.len(), what.join(" and ")));
        qemu::ninja(&l, &headers, "ninja-series-headers.log")?;
        build_subsets(&l, &linked)?;
        build_all(&l)?;
    }
    if !agent_linked {
        bail!("no commit of the series adds the {} option, yet the project has agent/", agent.option);
    }
    sh::step(format!(
        "every prefix builds with the libraries ({} s)",
        (started.elapsed() - plain_walk).as_secs()
    ));

    // Back to the full series without the library, and QEMU's QMP reference manual.
    let (last, _) = commits.last().context("the series has no commits")?;
    checkout(&l, last)?;
    set_option(&l, monitor.option, None)?;
    set_option(&l, agent.option, None)?;
    build_all(&l)?;
    sh::step("rendering QEMU's QMP reference manual (--enable-docs, Debian's Sphinx)");
    qemu::ninja(&l, &["docs/qemu-qmp-ref.7"], "ninja-docs.log")?;
    fs::write(stamp_file, stamp)?;
    Ok(plain)
}

/// A fresh git tree of the pristine release with the repack fix committed on top, then
/// the series applied with `git am`: its commits, oldest first, with their subjects.
fn git_tree(l: &Layout, args: &BuildArgs, patches: &[PathBuf]) -> Result<Vec<(String, String)>> {
    sh::step(format!("git tree of QEMU {} with the series in {}", l.version.name, l.src.display()));
    for d in [&l.src, &l.build] {
        if d.exists() {
            fs::remove_dir_all(d).with_context(|| format!("cannot remove {}", d.display()))?;
        }
    }
    fs::create_dir_all(&l.src)?;
    source::pristine_git_tree_in(&l.src, l.version, args.origin())?;
    let patches = qemu::needed(&l.src, patches)?;
    let (repack, feature): (Vec<&PathBuf>, Vec<&PathBuf>) = patches.iter().partition(|p| qemu::is_repack(p));
    for group in [&repack, &feature] {
        let mut am = vec!["am".to_string(), "-q".into()];
        am.extend(group.iter().map(|p| p.display().to_string()));
        source::git(&l.src, &am.iter().map(String::as_str).collect::<Vec<_>>())
            .context("git am of the series failed")?;
    }
    let log = sh::output(
        tools::command("git")?
            .arg("-C")
            .arg(&l.src)
            .args(["log", "--reverse", "--format=%H %s", "-n"])
            .arg(feature.len().to_string()),
    )?;
    let commits: Vec<(String, String)> = log
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(c, s)| (c.to_string(), s.to_string()))
        .collect();
    if commits.len() != feature.len() {
        bail!("expected {} commits from the series, git log shows {}", feature.len(), commits.len());
    }
    Ok(commits)
}

/// Everything a plain `ninja` builds but the manual (rendered once, at the end).
fn build_all(l: &Layout) -> Result<()> {
    let targets = qemu::default_targets_but_docs(l)?;
    qemu::ninja(l, &targets.iter().map(String::as_str).collect::<Vec<_>>(), "ninja-series.log")
}

/// A library of commands the series links: the monitor's (`qapi/`, `src/commands/`) or
/// the guest agent's (`agent/qapi/`, `agent/src/commands/`).
struct Library {
    /// The crate's directory in the project ("" for the monitor's, the root crate).
    dir: &'static str,
    package: &'static str,
    /// Its meson option.
    option: &'static str,
    /// Where the walk keeps it for the tree: the path the option names.
    archive: PathBuf,
    /// The tree's schema file its declarations are added to.
    schema: &'static str,
}

impl Library {
    fn monitor(l: &Layout) -> Self {
        Library {
            dir: "",
            package: "qemu-hello-rs",
            option: "monitor_rust_lib",
            archive: l.dir.join("lib/libqemu_hello_rs.a"),
            schema: "qapi/misc.json",
        }
    }

    fn agent(l: &Layout) -> Self {
        Library {
            dir: "agent",
            package: "qemu-hello-agent",
            option: "agent_rust_lib",
            archive: l.dir.join("lib/libqemu_hello_agent.a"),
            schema: "qga/qapi-schema.json",
        }
    }

    fn project(&self, root: &Path) -> PathBuf {
        if self.dir.is_empty() { root.to_path_buf() } else { root.join(self.dir) }
    }

    /// Its declaration files whose entries the tree at HEAD has: a schema file when the
    /// tree's schema has its first definition, an HMP file (the monitor's) when its hx
    /// file names its handler.
    fn applied(&self, l: &Layout) -> Result<Vec<String>> {
        let schema = fs::read_to_string(l.src.join(self.schema))?;
        let mut out = Vec::new();
        for entry in fs::read_dir(self.project(sh::root()).join("qapi"))? {
            let path = entry?.path();
            let file = path.file_name().context("declaration name")?.to_string_lossy().into_owned();
            if !file.ends_with(".json") {
                continue;
            }
            let text = fs::read_to_string(&path)?;
            // Its first definition (an include of QEMU's module is not one: another file
            // may have brought the same include in earlier).
            let first = text
                .lines()
                .filter(|line| !line.starts_with("{ 'include'"))
                .find_map(definition_head)
                .with_context(|| format!("{} declares nothing", path.display()))?;
            if schema.contains(&first) {
                out.push(file);
            }
        }
        if self.dir.is_empty() {
            let hx = fs::read_to_string(l.src.join("hmp-commands.hx"))?;
            let info_hx = fs::read_to_string(l.src.join("hmp-commands-info.hx"))?;
            for e in qemu_monitor_layer_gen::hx::read_dir(sh::root()).map_err(anyhow::Error::msg)? {
                let table = if e.info { &info_hx } else { &hx };
                if table.contains(&e.cmd) {
                    out.push(e.file.trim_start_matches("qapi/").to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether the commit declares any of its commands: else its archive is empty.
    fn declares(declared: &[String]) -> bool {
        declared.iter().any(|d| d.ends_with(".json"))
    }

    /// Removes from the project's copy `copy` the files of its `qapi/` that are not
    /// `declared`, and the command functions they name.
    fn prune(&self, copy: &Path, declared: &[String]) -> Result<()> {
        let project = self.project(copy);
        for entry in fs::read_dir(project.join("qapi"))? {
            let path = entry?.path();
            let file = path.file_name().context("declaration name")?.to_string_lossy().into_owned();
            if declared.contains(&file) {
                continue;
            }
            fs::remove_file(&path)?;
            if let Some(stem) = file.strip_suffix(".json") {
                let function = project.join("src/commands").join(format!("{}.rs", stem.replace('-', "_")));
                fs::remove_file(&function).with_context(|| format!("{} is missing", function.display()))?;
            }
        }
        Ok(())
    }

    /// Builds the library from the pruned copy, against this tree, into its archive.
    fn build(&self, l: &Layout, copy: &Path) -> Result<()> {
        let mut cmd = qemu::cargo();
        cmd.current_dir(self.project(copy))
            .args(["build", "--release", "--lib", "--package", self.package, "--target-dir"])
            .arg(l.dir.join("cargo"));
        qemu::cargo_env(l, &mut cmd);
        sh::run(&mut cmd)?;
        let built = self.archive.file_name().context("archive name")?;
        fs::copy(l.dir.join("cargo/release").join(built), &self.archive)?;
        Ok(())
    }
}

/// Builds each library from one copy of the project that keeps only the files of its
/// `qapi/` the commit declares (and the command functions they name); an empty archive
/// for a library that declares nothing yet.
fn build_subsets(l: &Layout, linked: &[(&Library, Vec<String>)]) -> Result<()> {
    for (lib, declared) in linked {
        if !Library::declares(declared) {
            fs::remove_file(&lib.archive).ok();
            qemu::empty_archive(&lib.archive)?;
        }
    }
    if !linked.iter().any(|(_, declared)| Library::declares(declared)) {
        return Ok(());
    }
    let copy = l.dir.join("crate");
    if copy.exists() {
        fs::remove_dir_all(&copy)?;
    }
    fs::create_dir_all(&copy)?;
    harness::repo::copy_project(sh::root(), &copy)?;
    for (lib, declared) in linked {
        lib.prune(&copy, declared)?;
    }
    for (lib, declared) in linked {
        if Library::declares(declared) {
            lib.build(l, &copy)?;
        }
    }
    Ok(())
}

fn checkout(l: &Layout, commit: &str) -> Result<()> {
    source::git(&l.src, &["checkout", "-q", "--detach", commit])
}

/// The head of the definition a line begins, as the series writes it into the tree's
/// schema: `{ 'command': 'guest-hello-panic' }` is `{ 'command': 'guest-hello-panic'`
/// (the series adds an `'if'` after it, so what follows the name differs).
fn definition_head(line: &str) -> Option<String> {
    let rest = line.strip_prefix("{ '")?;
    let (kind, rest) = rest.split_once("': '")?;
    let (name, _) = rest.split_once('\'')?;
    Some(format!("{{ '{kind}': '{name}'"))
}

/// Configures the tree with a library (which `CONFIG_MONITOR_RUST_LIB` or
/// `CONFIG_AGENT_RUST_LIB` follows) or without.
fn set_option(l: &Layout, option: &str, lib: Option<&Path>) -> Result<()> {
    let value = lib.map(|p| p.display().to_string()).unwrap_or_default();
    let mut cmd = tools::built(l.venv.join("bin/meson"));
    cmd.arg("configure").arg(&l.build).arg(format!("-D{option}={value}"));
    sh::run_logged(&mut cmd, &l.dir.join("meson-configure.log"), 1)
}

#[cfg(test)]
mod tests {
    use super::definition_head;

    #[test]
    fn a_definition_head_ends_with_its_name() {
        for (line, head) in [
            ("{ 'command': 'guest-hello-panic' }", Some("{ 'command': 'guest-hello-panic'")),
            (
                "{ 'command': 'hello-world', 'data': { '*message': 'str' } }",
                Some("{ 'command': 'hello-world'"),
            ),
            ("{ 'struct': 'HelloVmCpu',", Some("{ 'struct': 'HelloVmCpu'")),
            ("#     -> { 'execute': 'x' }", None),
            ("  'data': { 'message': 'str' } }", None),
        ] {
            assert_eq!(definition_head(line).as_deref(), head, "{line}");
        }
    }
}
