//! The `sh` blocks: commands too long or too heavy to run in a test, checked for their usage.
//!
//! Every line is a command (a `#` after a space starts a comment; `|` pipes into another command,
//! each checked). What each program's check is:
//! - `quill SUB ...`: SUB exists and every option given is one `quill SUB --help` lists;
//! - `cargo run|bench|test|install|package|publish ...`: the package (`-p`), binary (`--bin`), example (`--example`),
//!   benchmark (`--bench`) or path (`--path`) exists in the workspace; what follows `--` of a
//!   `cargo run ... --bin quill` is checked as a `quill` command; `--locked` needs a Cargo.lock;
//! - `scripts/NAME`: the script exists and is executable;
//! - `/usr/bin/time [-v] CMD`: CMD is checked; `tee FILE`: nothing to check.
//!
//! Any other program fails the test: a command the docs show must be checked by something.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use super::blocks::blocks;
use super::{root, DOCUMENTS};

/// A workspace package: its directory and its manifest's text.
struct Package {
    dir: PathBuf,
    manifest: String,
}

fn packages() -> BTreeMap<String, Package> {
    let root = root();
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = workspace
        .split("members = [")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .expect("the workspace lists its members");
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|member| {
            let dir = root.join(member);
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
                .unwrap_or_else(|e| panic!("{member}/Cargo.toml: {e}"));
            let name = manifest
                .lines()
                .find_map(|l| l.strip_prefix("name = "))
                .map(|n| n.trim_matches('"').to_string())
                .unwrap_or_else(|| panic!("{member}/Cargo.toml has no name"));
            (name, Package { dir, manifest })
        })
        .collect()
}

/// Whether `package` declares a target `name` of `kind` (`bin`, `bench`, `example`) or has the file
/// cargo would find it by.
fn has_target(package: &Package, kind: &str, name: &str) -> bool {
    let declared = package
        .manifest
        .split(&format!("[[{kind}]]"))
        .skip(1)
        .any(|section| section.lines().nth(1) == Some(&format!("name = \"{name}\"")));
    let dir = match kind {
        "bin" => "src/bin",
        "bench" => "benches",
        _ => "examples",
    };
    declared
        || package.dir.join(dir).join(format!("{name}.rs")).is_file()
        || package.dir.join(dir).join(name).join("main.rs").is_file()
}

/// The options `quill SUB --help` lists (`--long` and `-s`); `None` when SUB is not a subcommand.
fn quill_options(
    sub: &str,
    cache: &mut BTreeMap<String, Option<Vec<String>>>,
) -> Option<Vec<String>> {
    cache
        .entry(sub.to_string())
        .or_insert_with(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_quill"))
                .args([sub, "--help"])
                .output()
                .expect("quill runs");
            if !out.status.success() {
                return None;
            }
            let help = String::from_utf8_lossy(&out.stdout).into_owned();
            Some(
                help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
                    .filter(|w| w.starts_with('-') && w.len() > 1)
                    .map(|w| w.split(['=', '<']).next().unwrap().to_string())
                    .collect(),
            )
        })
        .clone()
}

struct Checker {
    packages: BTreeMap<String, Package>,
    help: BTreeMap<String, Option<Vec<String>>>,
    problems: Vec<String>,
}

impl Checker {
    fn quill(&mut self, place: &str, args: &[String]) {
        let Some(sub) = args.first() else {
            self.problems
                .push(format!("{place}: `quill` without a subcommand"));
            return;
        };
        if sub.starts_with('-') {
            // `quill --version`, `quill --help`: top-level options.
            if !["--version", "-V", "--help", "-h"].contains(&sub.as_str()) {
                self.problems
                    .push(format!("{place}: quill has no option {sub}"));
            }
            return;
        }
        let Some(options) = quill_options(sub, &mut self.help) else {
            self.problems
                .push(format!("{place}: `quill {sub}` is not a subcommand"));
            return;
        };
        for arg in &args[1..] {
            if arg == "--" {
                break;
            }
            if arg.starts_with('-')
                && arg.len() > 1
                && !arg[1..].starts_with(|c: char| c.is_ascii_digit())
            {
                let option = arg.split('=').next().unwrap();
                if !options.iter().any(|o| o == option) {
                    self.problems
                        .push(format!("{place}: `quill {sub}` has no option {option}"));
                }
            }
        }
    }

    fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    }

    fn cargo(&mut self, place: &str, args: &[String]) {
        let (ours, rest) = match args.iter().position(|a| a == "--") {
            Some(i) => (&args[..i], &args[i + 1..]),
            None => (args, &[][..]),
        };
        let command = ours.first().map(String::as_str).unwrap_or("");
        if ![
            "run", "bench", "test", "install", "build", "doc", "package", "publish",
        ]
        .contains(&command)
        {
            self.problems
                .push(format!("{place}: no check for `cargo {command}`"));
            return;
        }
        let package = match (Self::value(ours, "-p"), Self::value(ours, "--path")) {
            (Some(name), _) => match self.packages.get(name) {
                Some(p) => Some((name.to_string(), p)),
                None => {
                    self.problems
                        .push(format!("{place}: no package {name} in the workspace"));
                    return;
                }
            },
            (None, Some(path)) => {
                let dir = root().join(path);
                match self
                    .packages
                    .iter()
                    .find(|(_, p)| p.dir.canonicalize().ok() == dir.canonicalize().ok())
                {
                    Some((name, p)) => Some((name.clone(), p)),
                    None => {
                        self.problems
                            .push(format!("{place}: --path {path} is no workspace package"));
                        return;
                    }
                }
            }
            (None, None) => None,
        };
        if ours.iter().any(|a| a == "--locked") && !root().join("Cargo.lock").is_file() {
            self.problems
                .push(format!("{place}: --locked, but there is no Cargo.lock"));
        }
        let mut problems = Vec::new();
        let mut runs_quill = false;
        if let Some((name, p)) = &package {
            for (flag, kind) in [
                ("--bin", "bin"),
                ("--bench", "bench"),
                ("--example", "example"),
            ] {
                if let Some(target) = Self::value(ours, flag) {
                    // The package's own binary is src/main.rs, named after it.
                    let implicit =
                        kind == "bin" && target == name && p.dir.join("src/main.rs").is_file();
                    if !implicit && !has_target(p, kind, target) {
                        problems.push(format!("{place}: package {name} has no {kind} {target}"));
                    }
                    runs_quill |= kind == "bin" && target == "quill";
                }
            }
            if command == "install"
                && !(has_target(p, "bin", name) || p.dir.join("src/main.rs").is_file())
            {
                problems.push(format!("{place}: package {name} has no binary to install"));
            }
        }
        self.problems.extend(problems);
        if runs_quill {
            self.quill(place, rest);
        }
    }

    fn command(&mut self, place: &str, words: &[String]) {
        let Some(program) = words.first() else { return };
        let args = &words[1..];
        match program.as_str() {
            "quill" => self.quill(place, args),
            "cargo" => self.cargo(place, args),
            "/usr/bin/time" | "time" => {
                let skip = args.iter().take_while(|a| a.starts_with('-')).count();
                self.command(place, &args[skip..]);
            }
            "tee" => {}
            script if script.starts_with("scripts/") => {
                let path = root().join(script);
                let executable = std::fs::metadata(&path)
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
                    .unwrap_or(false);
                if !executable {
                    self.problems.push(format!("{place}: {script} is not an executable script"));
                }
            }
            other => self.problems.push(format!(
                "{place}: no check for `{other}`; run it in a console block or teach this test to check it"
            )),
        }
    }
}

/// Splits a shell line into words: quotes grouped, a comment (` #`) dropped, no expansion.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c == '#' && !in_word => break,
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

#[test]
fn every_sh_command_uses_options_and_targets_that_exist() {
    let mut checker = Checker {
        packages: packages(),
        help: BTreeMap::new(),
        problems: Vec::new(),
    };
    let mut checked = 0;
    for doc in DOCUMENTS {
        for block in blocks(&root().join(doc))
            .into_iter()
            .filter(|b| b.lang == "sh")
        {
            for (i, line) in block.body.lines().enumerate() {
                let place = format!("{doc}:{}", block.line + 1 + i);
                let all = words(line);
                for command in all.split(|w| w == "|") {
                    if !command.is_empty() {
                        checker.command(&place, command);
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(
        checked > 10,
        "only {checked} commands found in the sh blocks"
    );
    assert!(
        checker.problems.is_empty(),
        "commands in the docs that no longer hold:\n{}",
        checker.problems.join("\n")
    );
}

#[test]
fn the_usage_check_catches_what_it_should() {
    // The checker itself: an option quill does not have, a package and a bench that do not exist.
    let mut checker = Checker {
        packages: packages(),
        help: BTreeMap::new(),
        problems: Vec::new(),
    };
    for line in [
        "quill check --no-such-option h.json",
        "quill frobnicate",
        "cargo bench -p checker --bench no-such-bench",
        "cargo run -p no-such-package",
        "scripts/no-such-script",
        "make all",
    ] {
        checker.command(line, &words(line));
    }
    assert_eq!(checker.problems.len(), 6, "{:#?}", checker.problems);
    let ok = "quill check --no-partition --timeout 10 -o x h.json # a comment --bogus";
    let mut fine = Checker {
        packages: packages(),
        help: BTreeMap::new(),
        problems: Vec::new(),
    };
    fine.command(
        "ok",
        &words("cargo run --release -p quill --bin quill -- check --json a.json"),
    );
    fine.command("ok", &words("cargo install --locked --path quill"));
    assert!(fine.problems.is_empty(), "{:#?}", fine.problems);
    fine.command("ok", &words(ok));
    assert_eq!(
        fine.problems.len(),
        1,
        "check has no -o: {:#?}",
        fine.problems
    );
}
