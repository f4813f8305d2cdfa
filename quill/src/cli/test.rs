//! `quill test SYSTEM [PATTERN] [--list] [--seeds N | --seed S] [--parallel P] [--out DIR]
//! [--mutant NAME] [--check-budget N] [--keep-histories] [--keep-traces] [--shard I/N]
//! [--results FILE] [--dry-run]`: runs scenarios of a lab catalog for many seeds, in parallel, and
//! prints a summary table.
//!
//! `--shard I/N` runs only the I-th of N slices of the (scenario, seed) space (see
//! [`super::results`] for how the space is cut), so that a large sweep can run on many machines;
//! `--results FILE` writes every run as JSON, and `quill merge` prints the summary of the slices
//! together. `--dry-run` prints the runs the command would make, one `SCENARIO SEED` a line.
//!
//! Every failing run prints its seed, the kind of check that caught it and a command that replays
//! it, and the run is replayed once more with tracing on (and the same options) to write
//! `DIR/<scenario>/seed-<S>/trace.txt` (plus any artifacts the scenario attached). A run is a
//! function of its seed and options, so the replay writes the same bytes every time. The exit
//! status is 1 if any run failed.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use checker::Verdict;
use indicatif::{ProgressBar, ProgressStyle};
use labs::mutants::{self, MutantInfo};
use labs::runner::{self, RunOptions, RunRecord, Scenario};

use super::results::{self, ResultsFile, RunResult, Shard, Stats, Sweep};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Which system's catalog (e.g. raft).
    pub system: String,
    /// Run the scenario with exactly this name, or else those whose name contains PATTERN, or
    /// matches it as a glob when it has `*` or `?`.
    pub pattern: Option<String>,
    /// Print the matching scenario names, one per line, and exit.
    #[arg(long)]
    pub list: bool,
    /// Run seeds 1..=N of every matching scenario.
    #[arg(long, default_value_t = 1, conflicts_with = "seed",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Run only this seed (to replay a failure).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, short = 'p')]
    pub parallel: Option<usize>,
    /// Where failing runs write their trace and artifacts.
    #[arg(long, default_value = "quill-out")]
    pub out: PathBuf,
    /// kv catalogs: write every run's client history (`history.json`) under the `--out`
    /// directory, passing or not.
    #[arg(long)]
    pub keep_histories: bool,
    /// Write every run's trace (`trace.txt`) under the `--out` directory, passing or not.
    #[arg(long)]
    pub keep_traces: bool,
    /// Put a known bug back into the servers (see `quill test SYSTEM --list-mutants`).
    #[arg(long, value_name = "NAME")]
    pub mutant: Option<String>,
    /// Print the mutants that apply to SYSTEM, with what each breaks, and exit.
    #[arg(long)]
    pub list_mutants: bool,
    /// Configurations the history check may explore per key before it says Unknown
    /// (deterministic: the same seed gives the same verdict on any machine).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub check_budget: Option<u64>,
    /// mr: run the lab's tests with real processes and real time instead of the simulator.
    #[arg(long)]
    pub real: bool,
    /// mr --real: the directory of the input books (pg-*.txt).
    #[arg(long, default_value = "../shared/mapreduce/inputs")]
    pub inputs: PathBuf,
    /// Run only slice I of N of the (scenario, seed) runs, 0 <= I < N (a CI matrix index or a
    /// Kubernetes JOB_COMPLETION_INDEX); the N slices together are exactly the unsharded run.
    #[arg(long, value_name = "I/N", value_parser = results::parse_shard)]
    pub shard: Option<Shard>,
    /// Write every run (scenario, seed, outcome, kind, replay command, times, figures) as JSON to
    /// FILE, for `quill merge`.
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Print the runs this command would make, one `SCENARIO SEED` a line, and exit.
    #[arg(long)]
    pub dry_run: bool,
}

/// Failing runs beyond this many are reported but not replayed to write a trace.
const MAX_TRACES: usize = 20;

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    if args.real {
        anyhow::ensure!(
            args.system == "mr",
            "--real runs real processes only for mr, not {}",
            args.system
        );
        return super::mr::run_real_suite(args.pattern.as_deref(), &args.inputs);
    }
    let Some(catalog) = runner::find_catalog(&args.system) else {
        let known: Vec<&str> = runner::catalogs().iter().map(|c| c.system).collect();
        anyhow::bail!(
            "no scenarios for `{}`; known systems: {}",
            args.system,
            known.join(", ")
        );
    };
    let scenarios: Vec<Scenario> = match &args.pattern {
        None => catalog.scenarios.clone(),
        Some(p) => match catalog.scenarios.iter().find(|s| s.name == p) {
            Some(exact) => vec![*exact],
            None => catalog
                .scenarios
                .iter()
                .filter(|s| runner::name_matches(p, s.name))
                .copied()
                .collect(),
        },
    };
    if scenarios.is_empty() {
        anyhow::bail!(
            "no {} scenario matches `{}`",
            args.system,
            args.pattern.as_deref().unwrap_or("")
        );
    }
    if args.list {
        let mut out = std::io::stdout().lock();
        for s in &scenarios {
            writeln!(out, "{}", s.name)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let applicable: Vec<MutantInfo> = mutants::catalog()
        .into_iter()
        .filter(|m| m.applies_to(catalog.system))
        .collect();
    if args.list_mutants {
        let mut out = std::io::stdout().lock();
        for m in &applicable {
            writeln!(out, "{:<30} {} ({})", m.name, m.description, m.breaks)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mutant = match &args.mutant {
        None => None,
        Some(name) => match applicable.iter().find(|m| m.name == name) {
            Some(m) => Some(*m),
            None => {
                let names: Vec<&str> = applicable.iter().map(|m| m.name).collect();
                anyhow::bail!(
                    "no mutant `{name}` for {}; known: {}",
                    catalog.system,
                    names.join(", ")
                );
            }
        },
    };
    let opts = RunOptions {
        trace: args.keep_traces,
        keep_histories: args.keep_histories,
        mutant: mutant.map(|m| m.mutant),
        check_budget: args.check_budget,
    };
    // What every replay command must repeat besides the scenario and the seed.
    let mut replay_flags = String::new();
    if let Some(m) = &mutant {
        replay_flags.push_str(&format!(" --mutant {}", m.name));
    }
    if let Some(b) = args.check_budget {
        replay_flags.push_str(&format!(" --check-budget {b}"));
    }

    let seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => (1..=args.seeds).collect(),
    };
    let jobs: Vec<(Scenario, u64)> = scenarios
        .iter()
        .flat_map(|s| seeds.iter().map(move |&seed| (*s, seed)))
        .enumerate()
        .filter(|(k, _)| match args.shard {
            None => true,
            Some(sh) => sh.holds(*k),
        })
        .map(|(_, job)| job)
        .collect();
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        for (s, seed) in &jobs {
            writeln!(out, "{} {seed}", s.name)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let sweep = Sweep {
        system: catalog.system.to_string(),
        pattern: args.pattern.clone(),
        scenarios: scenarios.iter().map(|s| s.name.to_string()).collect(),
        first_seed: *seeds.first().expect("at least one seed"),
        last_seed: *seeds.last().expect("at least one seed"),
        mutant: mutant.map(|m| m.name.to_string()),
        check_budget: args.check_budget,
        shards: args.shard.map_or(1, |s| s.count),
    };
    let replay = |r: &RunRecord| {
        format!(
            "quill test {} {} --seed {}{replay_flags}",
            args.system, r.scenario, r.seed
        )
    };
    let parallel = args
        .parallel
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(jobs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} runs, {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message("0 failed");
        bar
    } else {
        ProgressBar::hidden()
    };
    let failed = AtomicUsize::new(0);
    let progress = |r: &RunRecord| {
        if !r.outcome.passed() {
            let f = failed.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_message(format!("{f} failed"));
        }
        bar.inc(1);
    };

    runner::install_quiet_panic_hook();
    let t0 = Instant::now();
    let records = runner::run_jobs(&jobs, parallel, &opts, &progress)?;
    let wall = t0.elapsed();
    bar.finish_and_clear();

    let mut out = std::io::stdout().lock();
    let failures: Vec<&RunRecord> = records.iter().filter(|r| !r.outcome.passed()).collect();
    for (k, r) in failures.iter().enumerate() {
        let kind = r.outcome.failure.as_ref().map_or("", |f| f.kind().as_str());
        writeln!(
            out,
            "FAIL {} seed {} [{kind}]: {}",
            r.scenario,
            r.seed,
            r.outcome.failure_message().unwrap_or_default()
        )?;
        writeln!(out, "  REPRODUCE WITH: {}", replay(r))?;
        if k < MAX_TRACES {
            let scenario = scenarios
                .iter()
                .find(|s| s.name == r.scenario)
                .expect("ran it");
            match write_failure(&args.out, scenario, r.seed, &opts) {
                Ok(dir) => {
                    writeln!(out, "  trace: {}", dir.join("trace.txt").display())?;
                    // The kv catalogs' evidence: history.json, timeline.html, timeline.svg.
                    for name in ["history.json", "timeline.html", "timeline.svg"] {
                        if dir.join(name).exists() {
                            writeln!(out, "  {name}: {}", dir.join(name).display())?;
                        }
                    }
                }
                Err(e) => writeln!(out, "  (could not write the trace: {e:#})")?,
            }
        }
    }
    // Back to the default hook: from here on a panic is a bug of the command itself.
    drop(std::panic::take_hook());
    if failures.len() > MAX_TRACES {
        writeln!(
            out,
            "({} more failures; traces written for the first {MAX_TRACES})",
            failures.len() - MAX_TRACES
        )?;
    }

    if seeds.len() == 1 {
        // One line per test, like the lab's output: time, peers, RPCs, bytes, commands.
        for r in &records {
            let st = &r.outcome.stats;
            let verdict = if r.outcome.passed() {
                "Passed"
            } else {
                "FAILED"
            };
            writeln!(
                out,
                "{} (seed {}) ... {verdict} -- {:4.1} {} {:4} {:7} {:4}",
                r.scenario,
                r.seed,
                st.virtual_ms as f64 / 1000.0,
                st.peers,
                st.rpcs,
                st.bytes,
                st.commands
            )?;
            for w in &r.outcome.warnings {
                writeln!(out, "  warning: {w}")?;
            }
        }
    }
    if args.keep_histories || args.keep_traces {
        let mut kept = 0;
        for r in records.iter().filter(|r| r.outcome.passed()) {
            let dir = args.out.join(r.scenario).join(format!("seed-{}", r.seed));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for a in &r.outcome.artifacts {
                std::fs::write(dir.join(&a.name), &a.contents)
                    .with_context(|| format!("writing {}", a.name))?;
                kept += 1;
            }
            if let Some(trace) = &r.outcome.trace {
                std::fs::write(dir.join("trace.txt"), trace)
                    .with_context(|| format!("writing the trace in {}", dir.display()))?;
                kept += 1;
            }
        }
        writeln!(
            out,
            "kept {kept} files of passing runs under {}",
            args.out.display()
        )?;
    }
    print_summary(&mut out, &records)?;
    let unknown: Vec<(&str, u64)> = records
        .iter()
        .filter(|r| r.outcome.verdict == Some(Verdict::Unknown))
        .map(|r| (r.scenario, r.seed))
        .collect();
    print_unknown(&mut out, &unknown)?;
    if let Some(path) = &args.results {
        let file = ResultsFile {
            format: results::FORMAT.to_string(),
            sweep,
            shard: args.shard,
            threads: parallel,
            wall_ms: wall.as_secs_f64() * 1000.0,
            runs: records.iter().map(|r| run_result(r, replay(r))).collect(),
        };
        file.write(path)?;
        writeln!(out, "results: {}", path.display())?;
    }
    let runs = records.len();
    let slice = args
        .shard
        .map_or(String::new(), |s| format!(" (slice {s})"));
    writeln!(
        out,
        "{} runs of {} scenarios x {} seeds{slice}: {} passed, {} failed, in {:.2} s wall on {} threads ({:.1} runs/s)",
        runs,
        scenarios.len(),
        seeds.len(),
        runs - failures.len(),
        failures.len(),
        wall.as_secs_f64(),
        parallel,
        runs as f64 / wall.as_secs_f64().max(1e-9),
    )?;
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Replays a failing seed with tracing on (and otherwise the run's own options) and writes its
/// trace and artifacts.
fn write_failure(
    out: &Path,
    scenario: &Scenario,
    seed: u64,
    opts: &RunOptions,
) -> anyhow::Result<PathBuf> {
    let dir = out.join(scenario.name).join(format!("seed-{seed}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let traced = RunOptions {
        trace: true,
        ..opts.clone()
    };
    let outcome = runner::run_guarded(scenario, seed, &traced);
    let mut trace = outcome.trace.clone().unwrap_or_default();
    match outcome.failure_message() {
        Some(f) => trace.push_str(&format!("# outcome: FAILED: {f}\n")),
        None => {
            trace.push_str("# outcome: the traced replay PASSED: the run is not deterministic\n")
        }
    }
    std::fs::write(dir.join("trace.txt"), trace)
        .with_context(|| format!("writing the trace in {}", dir.display()))?;
    for a in &outcome.artifacts {
        std::fs::write(dir.join(&a.name), &a.contents)
            .with_context(|| format!("writing {}", a.name))?;
    }
    Ok(dir)
}

/// One run as the results file holds it.
fn run_result(r: &RunRecord, replay: String) -> RunResult {
    let st = &r.outcome.stats;
    RunResult {
        scenario: r.scenario.to_string(),
        seed: r.seed,
        outcome: if r.outcome.passed() {
            "passed"
        } else {
            "failed"
        }
        .to_string(),
        kind: r
            .outcome
            .failure
            .as_ref()
            .map(|f| f.kind().as_str().to_string()),
        message: r.outcome.failure_message(),
        verdict: r.outcome.verdict.as_ref().map(|v| format!("{v:?}")),
        replay,
        wall_ms: r.wall.as_secs_f64() * 1000.0,
        stats: Stats {
            virtual_ms: st.virtual_ms,
            peers: st.peers,
            rpcs: st.rpcs,
            bytes: st.bytes,
            commands: st.commands,
        },
        warnings: r.outcome.warnings.clone(),
    }
}

/// The runs (scenario, seed) whose history check ran out of budget, after the table of a run (and
/// of `quill merge`): neither a pass nor a failure, so they are named.
pub(super) fn print_unknown(
    out: &mut impl std::io::Write,
    unknown: &[(&str, u64)],
) -> std::io::Result<()> {
    if unknown.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "UNKNOWN: {} runs whose linearizability check was undecided within its budget (not verified):",
        unknown.len()
    )?;
    for (scenario, seed) in unknown {
        writeln!(out, "  {scenario} seed {seed}")?;
    }
    Ok(())
}

/// The per-scenario table of an unsharded run (and of `quill merge`).
pub(super) fn print_summary(
    out: &mut impl std::io::Write,
    records: &[RunRecord],
) -> std::io::Result<()> {
    let rows = runner::summarize(records);
    let w = rows
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:<w$}  {:>6}  {:>6}  {:>17}  {:>19}  {:>5}  {:>8}  {:>10}  {:>6}",
        "Test", "Failed", "Total", "Virtual s", "Wall ms", "Peers", "RPCs", "Bytes", "Cmds"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<w$}  {:>6}  {:>6}  {:>8.2} ± {:<6.2}  {:>9.2} ± {:<7.2}  {:>5}  {:>8.0}  {:>10.0}  {:>6.0}",
            r.scenario,
            r.failed,
            r.total,
            r.virtual_s.0,
            r.virtual_s.1,
            r.wall_ms.0,
            r.wall_ms.1,
            r.peers,
            r.rpcs,
            r.bytes,
            r.commands
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use labs::runner::{Artifact, ScenarioOutcome};

    use super::*;

    fn failing(seed: u64, opts: &RunOptions) -> ScenarioOutcome {
        ScenarioOutcome {
            failure: Some(format!("boom at seed {seed}").into()),
            trace: opts.trace.then(|| "       0 | start h0\n".to_string()),
            artifacts: vec![Artifact {
                name: "history.json".into(),
                contents: b"[]".to_vec(),
            }],
            ..ScenarioOutcome::default()
        }
    }

    #[test]
    fn a_failure_writes_its_trace_and_artifacts() {
        let dir = std::env::temp_dir().join(format!("quill-test-{}", std::process::id()));
        let s = Scenario {
            name: "TestFake",
            run: failing,
        };
        let written = write_failure(&dir, &s, 3053, &RunOptions::default()).unwrap();
        assert_eq!(written, dir.join("TestFake").join("seed-3053"));
        let trace = std::fs::read_to_string(written.join("trace.txt")).unwrap();
        assert_eq!(
            trace,
            "       0 | start h0\n# outcome: FAILED: boom at seed 3053\n"
        );
        assert_eq!(std::fs::read(written.join("history.json")).unwrap(), b"[]");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
