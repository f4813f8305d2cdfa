//! `quill completions` and `quill man`: generated for every shell asked for, and covering every
//! subcommand that `quill --help` lists (read from the help, so a new subcommand is covered too).

use super::{quill, stderr, stdout, temp};

/// The subcommands `quill --help` lists, except `help` itself.
fn subcommands() -> Vec<String> {
    let out = quill(&["--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let help = stdout(&out);
    let listed: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    for expected in ["check", "gen", "test", "completions", "man"] {
        assert!(
            listed.iter().any(|n| n == expected),
            "--help does not list {expected}: {help}"
        );
    }
    listed
}

#[test]
fn completions_are_generated_for_each_shell_and_name_every_subcommand() {
    let names = subcommands();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef quill"),
        ("fish", "complete -c quill"),
    ] {
        let out = quill(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(
            script.contains(marker),
            "{shell}: no `{marker}` in {script}"
        );
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} completions do not mention {name}"
            );
        }
        // Options of a subcommand are completed too, not only the names.
        assert!(script.contains("no-partition"), "{shell}: no check options");
    }
    let out = quill(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "an unknown shell is a usage error (quill's usage status, 3)"
    );
    assert!(stderr(&out).contains("bash"), "{}", stderr(&out));
}

#[test]
fn the_man_page_lists_every_subcommand_and_pages_are_written_per_subcommand() {
    let names = subcommands();
    let out = quill(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie"),
        "not roff: {}",
        &page[..page.len().min(200)]
    );
    assert!(page.contains(".TH quill 1"), "no title header");
    for name in &names {
        assert!(
            page.contains(&format!("quill\\-{name}")),
            "the man page does not list {name}"
        );
    }

    let dir = temp("man");
    let _ = std::fs::remove_dir_all(&dir);
    let out = quill(&["man", "--out", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for page in
        std::iter::once("quill.1".to_string()).chain(names.iter().map(|n| format!("quill-{n}.1")))
    {
        let text = std::fs::read_to_string(dir.join(&page))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(&page).display()));
        assert!(text.contains(".TH"), "{page} is not a man page");
    }
    let check = std::fs::read_to_string(dir.join("quill-check.1")).unwrap();
    assert!(
        check.contains("no\\-partition"),
        "quill-check.1 lacks its options"
    );
}

#[test]
fn the_version_names_the_package_version_and_the_commit_from_git() {
    let out = quill(&["--version"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = stdout(&out);
    let expected = format!("quill {}", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&expected), "{line}");
    // Built from this checkout (the test runs from it), the commit is HEAD's.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match head {
        Ok(h) if h.status.success() => {
            let head = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert!(
                line.contains(&format!("(commit {head}")),
                "{line} does not name {head}"
            );
        }
        // No git here: the build script fell back to the bare version.
        _ => assert_eq!(line.trim(), expected, "{line}"),
    }
}
