//! `quill merge RESULTS...`: the summary of a sharded sweep, from the results files of its slices
//! (`quill test ... --shard I/N --results FILE`).
//!
//! Prints what an unsharded run of the same sweep prints: every failure with its replay command,
//! the per-scenario table, the runs whose history check was undecided, and the totals. Before
//! that it checks that the files add up to the sweep: all describe the same sweep, no run appears
//! twice (overlapping slices, or one slice given twice) and none is missing (a slice that never
//! ran or never wrote its file); each problem is reported, naming the files and slices.
//!
//! Exit status: 0 if the sweep is complete and every run passed, 1 if it is complete and some run
//! failed, 3 if the files do not add up to the sweep (or cannot be read).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use labs::failure::Failure;
use labs::runner::{self, RunRecord, RunStats, ScenarioOutcome};

use super::results::{ResultsFile, RunResult, Shard};
use super::EXIT_USAGE;

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Results files written by `quill test ... --results FILE` (one per slice).
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
}

/// At most this many missing runs are named one by one.
const MAX_MISSING_SHOWN: usize = 10;

pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let files: Vec<(PathBuf, ResultsFile)> = args
        .results
        .iter()
        .map(|p| ResultsFile::read(p).map(|f| (p.clone(), f)))
        .collect::<anyhow::Result<_>>()?;
    let (first_path, first) = &files[0];
    for (path, f) in &files[1..] {
        anyhow::ensure!(
            f.sweep == first.sweep,
            "{} is a slice of another sweep than {}: {:?} vs {:?}",
            path.display(),
            first_path.display(),
            f.sweep,
            first.sweep
        );
    }
    let sweep = &first.sweep;
    let catalog = runner::find_catalog(&sweep.system)
        .with_context(|| format!("{}: no catalog `{}`", first_path.display(), sweep.system))?;

    let mut problems: Vec<String> = Vec::new();
    // Slices given twice.
    let mut by_slice: BTreeMap<u64, Vec<&PathBuf>> = BTreeMap::new();
    for (path, f) in &files {
        let slice = f.slice();
        if slice.count != sweep.shards {
            problems.push(format!(
                "{}: slice {slice} of a sweep cut into {} slices",
                path.display(),
                sweep.shards
            ));
        }
        by_slice.entry(slice.index).or_default().push(path);
    }
    for (index, paths) in &by_slice {
        if paths.len() > 1 {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            problems.push(format!(
                "overlap: slice {index}/{} is in {} files: {}",
                sweep.shards,
                paths.len(),
                names.join(", ")
            ));
        }
    }
    // Every run once: the first file that has it wins, later ones are overlaps.
    let mut seen: BTreeMap<(&str, u64), &PathBuf> = BTreeMap::new();
    let mut overlapping = 0usize;
    let mut runs: Vec<&RunResult> = Vec::new();
    for (path, f) in &files {
        for r in &f.runs {
            match seen.get(&(r.scenario.as_str(), r.seed)) {
                Some(earlier) => {
                    overlapping += 1;
                    if overlapping <= MAX_MISSING_SHOWN {
                        problems.push(format!(
                            "overlap: {} seed {} is in {} and in {}",
                            r.scenario,
                            r.seed,
                            earlier.display(),
                            path.display()
                        ));
                    }
                }
                None => {
                    seen.insert((r.scenario.as_str(), r.seed), path);
                    runs.push(r);
                }
            }
        }
    }
    if overlapping > MAX_MISSING_SHOWN {
        problems.push(format!("({overlapping} overlapping runs in all)"));
    }
    // Missing runs, by the slice that should have made them.
    let mut missing: BTreeMap<u64, Vec<(&str, u64)>> = BTreeMap::new();
    let mut expected = 0usize;
    for (k, job) in sweep.jobs().enumerate() {
        expected += 1;
        if !seen.contains_key(&job) {
            missing
                .entry(k as u64 % sweep.shards)
                .or_default()
                .push(job);
        }
    }
    for (index, jobs) in &missing {
        let shown: Vec<String> = jobs
            .iter()
            .take(MAX_MISSING_SHOWN)
            .map(|(s, seed)| format!("{s} seed {seed}"))
            .collect();
        let more = jobs.len().saturating_sub(MAX_MISSING_SHOWN);
        problems.push(format!(
            "missing: {} runs of slice {}: {}{}",
            jobs.len(),
            Shard {
                index: *index,
                count: sweep.shards
            },
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let unknown_runs: Vec<&&RunResult> = runs
        .iter()
        .filter(|r| {
            !sweep.scenarios.contains(&r.scenario)
                || r.seed < sweep.first_seed
                || r.seed > sweep.last_seed
        })
        .collect();
    for r in &unknown_runs {
        problems.push(format!(
            "{} seed {} is not a run of the sweep",
            r.scenario, r.seed
        ));
    }

    // The runs in the unsharded order: scenario-major in catalog order, then seed.
    let position: BTreeMap<&str, usize> = sweep
        .scenarios
        .iter()
        .enumerate()
        .map(|(k, s)| (s.as_str(), k))
        .collect();
    runs.retain(|r| position.contains_key(r.scenario.as_str()));
    runs.sort_by_key(|r| (position[r.scenario.as_str()], r.seed));
    let records: Vec<RunRecord> = runs
        .iter()
        .map(|r| record(r, &catalog))
        .collect::<anyhow::Result<_>>()?;

    let mut out = std::io::stdout().lock();
    let failures: Vec<&&RunResult> = runs.iter().filter(|r| !r.passed()).collect();
    for r in &failures {
        writeln!(
            out,
            "FAIL {} seed {} [{}]: {}",
            r.scenario,
            r.seed,
            r.kind.as_deref().unwrap_or(""),
            r.message.as_deref().unwrap_or("")
        )?;
        writeln!(out, "  REPRODUCE WITH: {}", r.replay)?;
    }
    super::test::print_summary(&mut out, &records)?;
    let unknown: Vec<(&str, u64)> = runs
        .iter()
        .filter(|r| r.verdict.as_deref() == Some("Unknown"))
        .map(|r| (r.scenario.as_str(), r.seed))
        .collect();
    super::test::print_unknown(&mut out, &unknown)?;
    let wall_s: f64 = files.iter().map(|(_, f)| f.wall_ms).sum::<f64>() / 1000.0;
    writeln!(
        out,
        "{} runs of {} scenarios x {} seeds: {} passed, {} failed, merged from {} files of {} slices ({:.2} s wall in all)",
        runs.len(),
        sweep.scenarios.len(),
        sweep.last_seed - sweep.first_seed + 1,
        runs.len() - failures.len(),
        failures.len(),
        files.len(),
        sweep.shards,
        wall_s
    )?;
    if !problems.is_empty() {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "error: the files do not add up to the sweep ({} runs expected, {} distinct runs found):",
            expected,
            runs.len()
        )?;
        for p in &problems {
            writeln!(err, "  {p}")?;
        }
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A run of a file as the summary table counts it.
fn record(r: &RunResult, catalog: &runner::Catalog) -> anyhow::Result<RunRecord> {
    let scenario = catalog
        .scenarios
        .iter()
        .find(|s| s.name == r.scenario)
        .with_context(|| format!("no {} scenario `{}`", catalog.system, r.scenario))?
        .name;
    let failure = (!r.passed())
        .then(|| Failure::assertion(r.message.clone().unwrap_or_else(|| "failed".to_string())));
    Ok(RunRecord {
        scenario,
        seed: r.seed,
        outcome: ScenarioOutcome {
            failure,
            stats: RunStats {
                virtual_ms: r.stats.virtual_ms,
                peers: r.stats.peers,
                rpcs: r.stats.rpcs,
                bytes: r.stats.bytes,
                commands: r.stats.commands,
            },
            warnings: r.warnings.clone(),
            ..ScenarioOutcome::default()
        },
        wall: Duration::from_secs_f64(r.wall_ms.max(0.0) / 1000.0),
    })
}
