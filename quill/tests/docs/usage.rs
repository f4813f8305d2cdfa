//! The `sh` blocks: commands too long or too heavy to run in a test, checked for their usage.
//!
//! Every line is a command (a `#` after a space starts a comment; `|` pipes into another command,
//! each checked). What each program's check is:
//! - `quill SUB ...`: SUB exists and every option given is one `quill SUB --help` lists;
//! - `cargo run|bench|test|install|package|publish ...`: the package (`-p`), binary (`--bin`), example (`--example`),
//!   benchmark (`--bench`) or path (`--path`) exists in the workspace; what follows `--` of a
//!   `cargo run ... --bin quill` is checked as a `quill` command; `--locked` needs a Cargo.lock;
//! - `scripts/NAME`: the script exists and is executable;
//! - `NAME=value CMD`, `/usr/bin/time [-v] CMD`: CMD is checked; `tee FILE`, `go build ...`: nothing to check (not ours).
//!
//! A line ending in `\` continues on the next; a synopsis's brackets (`[--reduce 10]`) are optional
//! parts, whose options are checked too; `quill maelstrom test`, `quill mr worker`: nested subcommands
//! are followed, and the options checked against the innermost one's help.
//!
//! Any other program fails the test: a command the docs show must be checked by something.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use super::blocks::blocks;
use super::{documents, root};

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

/// What `quill PATH... --help` lists: its options (`--long` and `-s`) and its subcommands.
#[derive(Clone)]
struct Help {
    options: Vec<String>,
    subcommands: Vec<String>,
}

/// The help of `quill PATH...`; `None` when PATH is not a (sub)command.
fn quill_help(path: &[String], cache: &mut BTreeMap<Vec<String>, Option<Help>>) -> Option<Help> {
    cache
        .entry(path.to_vec())
        .or_insert_with(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_quill"))
                .args(path)
                .arg("--help")
                .output()
                .expect("quill runs");
            if !out.status.success() {
                return None;
            }
            let help = String::from_utf8_lossy(&out.stdout).into_owned();
            let options = help
                .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
                .filter(|w| w.starts_with('-') && w.len() > 1)
                .map(|w| w.split(['=', '<']).next().unwrap().to_string())
                .collect();
            let subcommands = help
                .lines()
                .skip_while(|l| !l.starts_with("Commands:"))
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect();
            Some(Help {
                options,
                subcommands,
            })
        })
        .clone()
}

struct Checker {
    packages: BTreeMap<String, Package>,
    help: BTreeMap<Vec<String>, Option<Help>>,
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
        // Descend into nested subcommands (`quill maelstrom test`, `quill mr worker`).
        let mut path = vec![sub.clone()];
        let mut help = match quill_help(&path, &mut self.help) {
            Some(help) => help,
            None => {
                self.problems
                    .push(format!("{place}: `quill {sub}` is not a subcommand"));
                return;
            }
        };
        while let Some(next) = args.get(path.len()) {
            if !help.subcommands.contains(next) {
                break;
            }
            path.push(next.clone());
            help = quill_help(&path, &mut self.help).expect("a listed subcommand has a help");
        }
        if !help.subcommands.is_empty() && path.len() == 1 {
            let next = args.get(1).map(String::as_str).unwrap_or("");
            if !next.starts_with('-') {
                self.problems.push(format!(
                    "{place}: `quill {sub} {next}`: {next} is not a subcommand of quill {sub}"
                ));
                return;
            }
        }
        let options = help.options;
        let sub = path.join(" ");
        for arg in &args[path.len()..] {
            // A synopsis marks optional parts with brackets: `[--reduce 10]`.
            let arg = arg.trim_start_matches('[').trim_end_matches(']');
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
        // `NAME=value CMD ...`: environment assignments before the program.
        let assignments = words
            .iter()
            .take_while(|w| w.split_once('=').is_some_and(|(name, _)| is_env_name(name)))
            .count();
        let words = &words[assignments..];
        let Some(program) = words.first() else { return };
        let args = &words[1..];
        match program.as_str() {
            "quill" => self.quill(place, args),
            "cargo" => self.cargo(place, args),
            "/usr/bin/time" | "time" => {
                let skip = args.iter().take_while(|a| a.starts_with('-')).count();
                self.command(place, &args[skip..]);
            }
            // Not ours (the docs show them building or feeding someone else's program).
            "tee" | "go" => {}
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

/// Whether `name` can be a shell variable's name (`QUILL_FUZZ_CASES`).
fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The block's commands with their first line's index: a line ending in `\` continues on the next.
fn logical_lines(body: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (i, line) in body.lines().enumerate() {
        let (text, continues) = match line.trim_end().strip_suffix('\\') {
            Some(head) => (head, true),
            None => (line, false),
        };
        match out.last_mut() {
            Some((_, command)) if continued => {
                command.push(' ');
                command.push_str(text);
            }
            _ => out.push((i, text.to_string())),
        }
        continued = continues;
    }
    out
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
    for doc in &documents() {
        for block in blocks(&root().join(doc))
            .into_iter()
            .filter(|b| b.lang == "sh")
        {
            for (i, line) in logical_lines(&block.body) {
                let place = format!("{doc}:{}", block.line + 1 + i);
                let all = words(&line);
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
        "cargo bench -p quill-checker --bench no-such-bench",
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
        &words("cargo run --release -p quill-cli --bin quill -- check --json a.json"),
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
