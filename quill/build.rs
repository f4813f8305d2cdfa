//! Names the git commit in `quill --version` when the binary is built from a git checkout.
//!
//! Sets `QUILL_VERSION` to `0.1.0 (commit 1a2b3c4d5e6f)`, with `-dirty` when tracked files have
//! uncommitted changes, or to the bare package version when there is no git, no repository, or the
//! crate is not a tracked part of one (a packaged crate is unpacked under `target/package/`, inside the
//! checkout but ignored by it, and must not claim the checkout's commit).

use std::path::Path;
use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir);
    let full = match commit(dir) {
        Some(commit) => format!("{version} (commit {commit})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=QUILL_VERSION={full}");
    println!("cargo:rerun-if-changed=build.rs");
    // Rebuild when HEAD moves, a branch is committed to, or the index changes (what `-dirty` reads).
    for name in ["HEAD", "index", "packed-refs"] {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", name]) {
            println!("cargo:rerun-if-changed={}", dir.join(path).display());
        }
    }
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &branch]) {
            println!("cargo:rerun-if-changed={}", dir.join(path).display());
        }
    }
}

/// The short commit of HEAD, if this crate's manifest is tracked by the repository around it.
fn commit(dir: &Path) -> Option<String> {
    git(dir, &["ls-files", "--error-unmatch", "Cargo.toml"])?;
    let commit = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    let dirty = git(
        dir,
        &["status", "--porcelain", "--untracked-files=no", "--", ".."],
    )
    .is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

/// Runs git in `dir`; `None` when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}
