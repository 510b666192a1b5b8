// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask patches [--check] [--qemu VERSION]`: regenerates `qemu-patches/<version>/`
//! for every supported release from the declarations in `qapi/`, by running
//! `qemu-patches/port-series.py` on a git tree of the pristine release (Debian's source
//! package unpacked; the repack fix on the orig tarball's tree). With `--check`,
//! writes into a temporary directory instead and fails with the diff when the committed
//! series differs (`cargo xtask test` runs that check).

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::qemu::{self, Flavor, Layout};
use crate::{sh, source, versions};

#[derive(clap::Args, Debug)]
pub struct PatchesArgs {
    /// Only check that the committed series match the declarations; change nothing.
    #[arg(long)]
    check: bool,
    /// Only this QEMU version (default: every supported one).
    #[arg(long, value_name = "VERSION", value_parser = versions::get)]
    qemu: Option<&'static versions::Version>,
}

pub fn patches(args: &PatchesArgs) -> Result<()> {
    let chosen: Vec<&'static versions::Version> = match args.qemu {
        Some(v) => vec![v],
        None => versions::ALL.iter().collect(),
    };
    for v in chosen {
        let l = Layout::new(v, Flavor::Rust);
        let tree = source::pristine_git_tree(v, source::Origin::Debian)?;
        if args.check {
            check(&l, tree.path())?;
        } else {
            generate(&l, tree.path(), &sh::crate_dir().join("qemu-patches").join(v.name))?;
        }
        let count = l.patches()?.len();
        out!(
            "qemu-patches/{}: {count} patches, {} qapi/",
            v.name,
            if args.check { "as generated from" } else { "written from" }
        );
    }
    Ok(())
}

/// QEMU's own QAPI generator on the whole schema at each commit of the series that
/// `generate` just made in `tree` and that touches `qapi/` or the guest agent's schema
/// (both schemas at each): a declaration that uses a type of a later commit fails here,
/// naming the commit.
fn schema_resolves_at_every_commit(l: &Layout, tree: &Path) -> Result<()> {
    let git_out = |args: &[&str]| sh::output(tools::command("git")?.arg("-C").arg(tree).args(args));
    let head = git_out(&["rev-parse", "HEAD"])?;
    let commits =
        git_out(&["rev-list", "--reverse", ":/^pristine..HEAD", "--", "qapi/", "qga/qapi-schema.json"])?;
    let python = l.venv.join("bin/python3");
    let scratch = tempfile::Builder::new().prefix("qapi-gen-").tempdir()?;
    let mut checked = 0;
    for commit in commits.lines() {
        source::git(tree, &["checkout", "-q", "--detach", commit])?;
        // The agent's schema as qga/meson.build generates it (prefix qga-).
        for (schema, prefix) in [("qapi/qapi-schema.json", None), ("qga/qapi-schema.json", Some("qga-"))] {
            let mut cmd = tools::built(&python);
            cmd.current_dir(tree).args(["scripts/qapi-gen.py", "-o"]).arg(scratch.path());
            if let Some(p) = prefix {
                cmd.args(["-p", p]);
            }
            let out = cmd.arg(schema).output().context("cannot run QEMU's qapi-gen.py")?;
            if !out.status.success() {
                let subject = git_out(&["log", "-1", "--format=%s", commit])?;
                bail!(
                    "{schema} does not resolve at the series commit \"{}\": {}",
                    subject.trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        checked += 1;
    }
    source::git(tree, &["checkout", "-q", "--detach", head.trim()])?;
    sh::step(format!(
        "QEMU's QAPI generator accepts both schemas at each of the {checked} commits that change one"
    ));
    Ok(())
}

/// Runs the series generator on `tree` (a git tree of Debian's pristine release, whose
/// HEAD it moves) and a git tree of the orig tarball alone (for the repack fix), writing
/// the series to `out`.
pub fn generate(l: &Layout, tree: &Path, out: &Path) -> Result<()> {
    qemu::ensure_venv(l)?;
    let upstream = source::pristine_git_tree(l.version, source::Origin::Upstream(None))?;
    sh::step(format!("generating the QEMU {} series from qapi/", l.version.name));
    // The HMP entries as the generator reads them (one reader for everything).
    let entries = qemu_monitor_layer_gen::hx::read_dir(sh::crate_dir()).map_err(anyhow::Error::msg)?;
    let hmp: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .map(|e| {
            let fields = serde_json::json!({ "name": e.name, "cmd": e.cmd, "table": e.table, "doc": e.doc });
            (e.file.clone(), fields)
        })
        .collect();
    let hmp_json = tempfile::Builder::new().prefix("hmp-entries-").suffix(".json").tempfile()?;
    std::fs::write(hmp_json.path(), serde_json::to_string(&hmp)?)?;
    sh::run(
        tools::command("python3")?
            // No bytecode cache beside the scripts (qapi_compat is imported from layer-gen/).
            .arg("-B")
            .arg(sh::root().join("qemu-patches/port-series.py"))
            .arg(tree)
            .arg(l.version.name)
            .arg(l.venv.join("bin/meson"))
            .arg(out)
            .env("COMMAND_CRATE", sh::crate_dir())
            // The crate's guest agent commands, if it has any (`agent/qapi/`).
            .env("AGENT_CRATE", sh::crate_dir().join("agent"))
            .env("UPSTREAM_TREE", upstream.path())
            .env("HMP_ENTRIES", hmp_json.path()),
    )
}

/// Fails, showing the difference, unless the committed series is what the declarations
/// generate for `tree`.
pub fn check(l: &Layout, tree: &Path) -> Result<()> {
    let out = tempfile::Builder::new().prefix("qemu-series-").tempdir()?;
    generate(l, tree, out.path())?;
    schema_resolves_at_every_commit(l, tree)?;
    let committed = sh::crate_dir().join("qemu-patches").join(l.version.name);
    let diff = tools::command("diff")?
        .arg("-ru")
        .arg(&committed)
        .arg(out.path())
        .output()
        .context("cannot run diff")?;
    if !diff.status.success() {
        bail!(
            "qemu-patches/{v}/ differs from what the declarations in qapi/ generate; \
             run `cargo xtask patches --qemu {v}` and commit the result:\n{}",
            String::from_utf8_lossy(&diff.stdout),
            v = l.version.name
        );
    }
    sh::step(format!("qemu-patches/{}/ matches the declarations in qapi/", l.version.name));
    Ok(())
}
