# SPDX-License-Identifier: GPL-2.0-or-later
# The qemu-hello-rs book: Markdown chapters rendered by Debian's Sphinx with MyST.
# `cargo xtask book` builds it into target/book/ (warnings are errors: a broken
# cross-reference or a chapter left out of the table of contents fails the build).

project = "qemu-hello-rs"
author = "the qemu-hello-rs developers"
copyright = "2026, " + author
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
# Links to a heading of another chapter: [text](chapter.md#heading-slug).
myst_heading_anchors = 3
html_theme = "sphinx_rtd_theme"
html_title = "qemu-hello-rs"
# Code blocks are shown as written (no guessing of languages that are not Rust, C or
# a shell's).
highlight_language = "none"
