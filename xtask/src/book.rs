// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask book`: renders `docs/` (Markdown chapters, Debian's Sphinx with MyST)
//! into `target/book/`, warnings as errors: a broken link between chapters or to a
//! heading, a chapter outside the table of contents, or a malformed directive fails it.
//! The README's links into `docs/` are checked too. Prints the index page's path.

use std::fs;
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::{deps, sh};

/// Debian's Sphinx, MyST (Markdown for Sphinx) and the theme QEMU's manual uses.
pub const BOOK: &[&str] = &["python3-sphinx", "python3-myst-parser", "python3-sphinx-rtd-theme"];

pub fn book() -> Result<PathBuf> {
    deps::ensure(BOOK)?;
    let root = sh::root();
    readme_links(root)?;
    let out = root.join("target/book");
    sh::step(format!("the book: sphinx-build docs/ -> {} (warnings are errors)", out.display()));
    sh::run(
        tools::command("sphinx-build")?
            .args(["-q", "-W", "--keep-going", "-n", "-b", "html"])
            .arg(root.join("docs"))
            .arg(&out),
    )?;
    Ok(out.join("index.html"))
}

/// Each `](docs/…)` link of the README names a chapter that exists.
fn readme_links(root: &std::path::Path) -> Result<()> {
    let readme = fs::read_to_string(root.join("README.md"))?;
    let mut missing = Vec::new();
    for (i, _) in readme.match_indices("](docs/") {
        let target = &readme[i + 2..];
        let end = target.find([')', '#']).unwrap_or(target.len());
        if !root.join(&target[..end]).is_file() {
            missing.push(target[..end].to_string());
        }
    }
    if !missing.is_empty() {
        bail!("README.md links to {} that do not exist", missing.join(", "));
    }
    Ok(())
}
