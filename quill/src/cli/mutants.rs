//! `quill mutants [--system S] [--seeds N] [--budget SECS] [--list] [-p J] [--json]`: how fast the
//! harness catches each known bug of the catalog ([`labs::mutants`]).
//!
//! For each mutant (of system S, or all), every catalog that can carry it runs seed after seed
//! until the first failure, the last seed or the budget ([`labs::hunt`]). The table gives, per
//! mutant: caught or not, the catching scenario and seed, the kind of check that caught it, seeds
//! and runs and wall time to the catch, and the command that replays it. Then the unmodified
//! systems run the same scenarios and seeds, and the table says whether they passed: a catch by a
//! check that fails without the bug proves nothing. Exit status 1 if a mutant escaped or the
//! unmodified systems failed.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use labs::hunt::{self, BaselineRow, HuntOptions, HuntRow, Stop};
use labs::mutants::{self, MutantInfo};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct MutantsArgs {
    /// Only the mutants of this system (raft, kvsrv, kvraft, mr, shardkv).
    #[arg(long)]
    pub system: Option<String>,
    /// Only the mutant with this name (repeatable).
    #[arg(long = "mutant", value_name = "NAME")]
    pub mutants: Vec<String>,
    /// Seeds 1..=N of every scenario, at most, per mutant.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Wall-clock seconds per mutant (and per unmodified catalog) before the hunt gives up.
    #[arg(long, default_value_t = 60.0)]
    pub budget: f64,
    /// Print the mutants with what each breaks, and exit.
    #[arg(long)]
    pub list: bool,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, short = 'p')]
    pub parallel: Option<usize>,
    /// Skip the run of the unmodified systems.
    #[arg(long)]
    pub no_baseline: bool,
    /// Print the results as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Configurations the history check may explore per key (as for `quill test`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub check_budget: Option<u64>,
}

fn selected(args: &MutantsArgs) -> anyhow::Result<Vec<MutantInfo>> {
    let all = mutants::catalog();
    if let Some(s) = &args.system {
        let systems: Vec<&str> = all.iter().map(|m| m.system()).collect();
        anyhow::ensure!(
            systems.contains(&s.as_str()),
            "no mutants for system `{s}`; systems with mutants: {}",
            dedup(systems).join(", ")
        );
    }
    for name in &args.mutants {
        anyhow::ensure!(
            all.iter().any(|m| m.name == name),
            "no mutant `{name}`; see `quill mutants --list`"
        );
    }
    Ok(all
        .into_iter()
        .filter(|m| args.system.as_deref().is_none_or(|s| m.system() == s))
        .filter(|m| args.mutants.is_empty() || args.mutants.iter().any(|n| n == m.name))
        .collect())
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    v.dedup();
    v
}

pub fn run(args: MutantsArgs) -> anyhow::Result<ExitCode> {
    let chosen = selected(&args)?;
    let mut out = std::io::stdout().lock();
    if args.list {
        for m in &chosen {
            writeln!(
                out,
                "{:<30} {:<8} {} ({})",
                m.name,
                m.system(),
                m.description,
                m.breaks
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::ensure!(
        args.budget.is_finite() && args.budget > 0.0,
        "--budget must be a positive number of seconds, not {}",
        args.budget
    );
    let opts = HuntOptions {
        seeds: args.seeds,
        budget: Duration::from_secs_f64(args.budget),
        parallel: args
            .parallel
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        check_budget: args.check_budget,
    };
    labs::runner::install_quiet_panic_hook();
    let mut rows = Vec::new();
    for m in &chosen {
        let row = hunt::hunt(m, &opts)?;
        if !args.json {
            eprintln!(
                "{}: {} after {} seeds, {:.1} s",
                m.name,
                if row.catch.is_some() {
                    "caught"
                } else {
                    "not caught"
                },
                row.seeds,
                row.wall.as_secs_f64()
            );
        }
        rows.push(row);
    }
    let baselines = if args.no_baseline {
        Vec::new()
    } else {
        hunt::baseline_plan(&rows)
            .iter()
            .map(|(c, seeds)| hunt::baseline(c, *seeds, &opts))
            .collect::<Result<Vec<_>, _>>()?
    };
    if args.json {
        let doc = to_json(&rows, &baselines, &opts);
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        print_table(&mut out, &rows, &baselines, &opts)?;
    }
    let escaped = rows.iter().any(|r| r.catch.is_none());
    let baseline_failed = baselines.iter().any(|b| !b.failures.is_empty());
    Ok(if escaped || baseline_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn stop_str(stop: Stop) -> &'static str {
    match stop {
        Stop::Caught => "caught",
        Stop::SeedsExhausted => "seeds exhausted",
        Stop::BudgetExhausted => "budget exhausted",
    }
}

fn print_table(
    out: &mut impl std::io::Write,
    rows: &[HuntRow],
    baselines: &[BaselineRow],
    opts: &HuntOptions,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<30} {:<7} {:>5} {:<32} {:<15} {:>5} {:>6} {:>8}  replay",
        "mutant", "caught", "seed", "scenario", "kind", "seeds", "runs", "wall s"
    )?;
    for r in rows {
        match &r.catch {
            Some(c) => writeln!(
                out,
                "{:<30} {:<7} {:>5} {:<32} {:<15} {:>5} {:>6} {:>8.2}  {}",
                r.mutant.name,
                "yes",
                c.seed,
                format!("{}/{}", c.lab, c.scenario),
                c.kind.as_str(),
                r.seeds,
                r.runs,
                r.wall.as_secs_f64(),
                r.replay(opts.check_budget).unwrap_or_default()
            )?,
            None => writeln!(
                out,
                "{:<30} {:<7} {:>5} {:<32} {:<15} {:>5} {:>6} {:>8.2}  ({})",
                r.mutant.name,
                "NO",
                "-",
                r.labs.join("+"),
                "-",
                r.seeds,
                r.runs,
                r.wall.as_secs_f64(),
                stop_str(r.stop)
            )?,
        }
    }
    let caught = rows.iter().filter(|r| r.catch.is_some()).count();
    write!(out, "{caught} of {} mutants caught", rows.len())?;
    match hunt::median_catch_wall(rows) {
        Some(m) => writeln!(
            out,
            "; median wall time to the catch {:.2} s",
            m.as_secs_f64()
        )?,
        None => writeln!(out)?,
    }
    for b in baselines {
        let cut = if b.stop == Stop::BudgetExhausted {
            " (budget ran out first)"
        } else {
            ""
        };
        if b.failures.is_empty() {
            writeln!(
                out,
                "unmodified {}: {} runs ({} scenarios x seeds 1..={}){cut}: all passed, {:.1} s",
                b.lab,
                b.runs,
                b.scenarios,
                b.seeds,
                b.wall.as_secs_f64()
            )?;
        } else {
            writeln!(
                out,
                "unmodified {}: {} runs ({} scenarios x seeds 1..={}){cut}: {} FAILED",
                b.lab,
                b.runs,
                b.scenarios,
                b.seeds,
                b.failures.len()
            )?;
            for (scenario, seed, kind, msg) in &b.failures {
                writeln!(
                    out,
                    "  {scenario} seed {seed} ({kind}): {msg}\n  replay: quill test {} {scenario} --seed {seed}",
                    b.lab
                )?;
            }
        }
    }
    Ok(())
}

fn to_json(rows: &[HuntRow], baselines: &[BaselineRow], opts: &HuntOptions) -> serde_json::Value {
    let mutants: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "mutant": r.mutant.name,
                "system": r.mutant.system(),
                "description": r.mutant.description,
                "breaks": r.mutant.breaks,
                "labs": r.labs,
                "caught": r.catch.is_some(),
                "stop": stop_str(r.stop),
                "seed": r.catch.as_ref().map(|c| c.seed),
                "lab": r.catch.as_ref().map(|c| c.lab),
                "scenario": r.catch.as_ref().map(|c| c.scenario),
                "kind": r.catch.as_ref().map(|c| c.kind.as_str()),
                "message": r.catch.as_ref().map(|c| c.message.as_str()),
                "seeds": r.seeds,
                "runs": r.runs,
                "wall_s": r.wall.as_secs_f64(),
                "replay": r.replay(opts.check_budget),
            })
        })
        .collect();
    let unmodified: Vec<_> = baselines
        .iter()
        .map(|b| {
            json!({
                "lab": b.lab,
                "scenarios": b.scenarios,
                "seeds": b.seeds,
                "runs": b.runs,
                "stop": stop_str(b.stop),
                "passed": b.failures.is_empty(),
                "failures": b.failures.iter().map(|(s, seed, kind, msg)| json!({
                    "scenario": s, "seed": seed, "kind": kind.as_str(), "message": msg,
                })).collect::<Vec<_>>(),
                "wall_s": b.wall.as_secs_f64(),
            })
        })
        .collect();
    json!({
        "seeds": opts.seeds,
        "budget_s": opts.budget.as_secs_f64(),
        "parallel": opts.parallel,
        "mutants": mutants,
        "caught": rows.iter().filter(|r| r.catch.is_some()).count(),
        "median_catch_wall_s": hunt::median_catch_wall(rows).map(|d| d.as_secs_f64()),
        "unmodified": unmodified,
    })
}
