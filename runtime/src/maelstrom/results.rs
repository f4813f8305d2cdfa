//! The results directory: `store/<workload>/<UTC time>/` (and `store/latest`, a link to it), holding
//!
//! - `history.jsonl` (streamed as the run goes, Quill's JSON Lines; `quill check` reads it), `history.json`
//!   (the whole history with the nemesis as annotations) and `history.edn` (Jepsen's format);
//! - `results.json` (the verdict, the evidence, latencies, availability, network statistics, the
//!   configuration) and `results.edn` (the headline figures in Maelstrom's keys);
//! - `timeline.html` (viz), `latency.svg`, `rate.svg` and `messages.svg` (the Lamport diagram);
//! - `node-logs/nK.log`, each node's stderr.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use checker::{CheckResult, HistoryView, OpView, Verdict};
use serde_json::{json, Value as Json};

use super::config::{Config, Workload};
use super::network::Network;
use super::nodes::Nodes;
use super::workload::{self, sets::quantiles_ms, JsonHistory};
use super::{edn, plots, Error, Problem, Report};

/// What the run produced, for the results.
pub struct Outcome {
    pub history: JsonHistory,
    pub problem: Option<Problem>,
    pub crashes: Vec<String>,
    /// When the clients started (recorder time).
    pub run_start: i64,
    pub wall: Duration,
}

/// `YYYYMMDDTHHMMSS.mmm` in UTC, without a date library.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes a fresh results directory for this run, and points `store/latest` at it.
pub fn make_dir(config: &Config) -> Result<PathBuf, Error> {
    let base = config.store.join(config.workload.name());
    let mut dir = base.join(timestamp());
    let mut n = 1;
    while dir.exists() {
        dir = base.join(format!("{}-{n}", timestamp()));
        n += 1;
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let latest = config.store.join("latest");
    let _ = std::fs::remove_file(&latest);
    if let Ok(target) = dir.strip_prefix(&config.store) {
        let _ = std::os::unix::fs::symlink(target, &latest);
    }
    Ok(dir)
}

fn write_file(path: PathBuf, contents: impl AsRef<[u8]>) -> Result<(), Error> {
    std::fs::write(&path, contents).map_err(io(&path))
}

/// A timeline view of a non-linearizability workload: inputs and outputs as compact JSON.
fn generic_view(workload: Workload, history: &JsonHistory) -> HistoryView {
    let operations = history
        .operations
        .iter()
        .map(|op| {
            let mut input = op.input.clone();
            if let Some(map) = input.as_object_mut() {
                map.remove("node");
            }
            let f = input["f"].as_str().unwrap_or("?").to_string();
            if let Some(map) = input.as_object_mut() {
                map.remove("f");
            }
            let args = match &input {
                Json::Object(m) if m.is_empty() => String::new(),
                other => other.to_string(),
            };
            OpView {
                client: op.client,
                call: op.call,
                ret: op.ret,
                input: format!("{f}{args}"),
                output: op.output.as_ref().map(|o| match o {
                    Json::Object(m) if m.is_empty() => String::new(),
                    Json::Object(m) if m.len() == 1 => m.values().next().expect("one").to_string(),
                    other => other.to_string(),
                }),
                failed: op.failed,
                json: None,
            }
        })
        .collect();
    HistoryView {
        model: workload.name().to_string(),
        operations,
        annotations: history.annotations.clone(),
        // The recorder's clock: nanoseconds since the run began.
        time_unit: Some("ns".into()),
    }
}

fn valid_json(verdict: Verdict) -> Json {
    match verdict {
        Verdict::Ok => json!(true),
        Verdict::Illegal => json!(false),
        Verdict::Unknown => json!("unknown"),
    }
}

/// Checks the history and writes every result file.
pub fn write(
    dir: &Path,
    config: &Config,
    outcome: Outcome,
    net: &Network,
    nodes: &Nodes,
) -> Result<Report, Error> {
    let history = outcome.history;
    let began = Instant::now();
    let analysis = workload::analyse(config.workload, &history, config.node_count);
    let analysis_secs = began.elapsed().as_secs_f64();

    // Availability and latency over the clients' operations (not the final reads).
    let ops: Vec<_> = history
        .operations
        .iter()
        .filter(|op| op.input["final"] != true)
        .collect();
    let ok = ops.iter().filter(|op| op.is_complete()).count();
    let failed = ops.iter().filter(|op| op.failed).count();
    let unknown = ops.iter().filter(|op| op.ret.is_none()).count();
    let availability = if ops.is_empty() {
        0.0
    } else {
        ok as f64 / ops.len() as f64
    };
    let mut latencies: Vec<i64> = ops
        .iter()
        .filter(|op| op.is_complete())
        .filter_map(|op| op.ret.map(|r| r - op.call))
        .collect();
    latencies.sort_unstable();
    let mut by_kind: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for op in ops.iter().filter(|op| op.is_complete()) {
        let kind = op.input["f"]
            .as_str()
            .or(op.input["op"].as_str())
            .unwrap_or("?");
        by_kind
            .entry(kind.to_string())
            .or_default()
            .push(op.ret.unwrap_or(op.call) - op.call);
    }
    let by_kind: serde_json::Map<String, Json> = by_kind
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_unstable();
            (k, quantiles_ms(&v))
        })
        .collect();

    let stats = net.stats();
    let msgs_per_op = if ops.is_empty() {
        0.0
    } else {
        stats.servers.sent as f64 / ops.len() as f64
    };
    let required = config.availability.required();
    let available = availability + 1e-12 >= required;
    let mut verdict = analysis.verdict;
    let mut summary = analysis.summary.clone();
    if !available {
        verdict = Verdict::Illegal;
        summary.push(format!(
            "availability {availability:.3} is below the required {required}"
        ));
    }
    if ok == 0 && verdict == Verdict::Ok {
        // Nothing was observed, so nothing was shown correct.
        verdict = Verdict::Unknown;
        summary.push("no operation completed, so nothing was checked".into());
    }
    summary.insert(
        0,
        format!(
            "{} operations: {ok} ok, {failed} failed, {unknown} unknown; availability {availability:.3}; {:.2} messages between nodes per operation",
            ops.len(),
            msgs_per_op
        ),
    );
    if !latencies.is_empty() {
        let q = quantiles_ms(&latencies);
        summary.push(format!(
            "latency (ms): p50 {} p95 {} p99 {} max {}",
            q["p50"], q["p95"], q["p99"], q["max"]
        ));
    }
    for crash in &outcome.crashes {
        summary.push(crash.clone());
    }
    let exit_code = match (&outcome.problem, verdict) {
        (Some(Problem::Interrupted), _) => 130,
        (Some(_), _) => 3,
        (None, Verdict::Ok) => 0,
        (None, Verdict::Illegal) => 1,
        (None, Verdict::Unknown) => 2,
    };
    if let Some(problem) = &outcome.problem {
        summary.insert(0, problem.to_string());
    }

    let results = json!({
        "valid": valid_json(verdict),
        "verdict": verdict,
        "workload": config.workload.name(),
        "exit_code": exit_code,
        "problem": outcome.problem.as_ref().map(|p| p.to_json()),
        "summary": summary,
        "evidence": analysis.evidence,
        "crashes": outcome.crashes,
        "operations": {"total": ops.len(), "ok": ok, "fail": failed, "info": unknown},
        "availability": {"ok_fraction": availability, "required": required, "valid": available},
        "latency_ms": {"all": quantiles_ms(&latencies), "by_kind": by_kind},
        "net": {
            "clients": stats.clients,
            "servers": stats.servers,
            "services": stats.services,
            "msgs_per_op": msgs_per_op,
        },
        "analysis_secs": analysis_secs,
        "wall_secs": outcome.wall.as_secs_f64(),
        "config": {
            "bin": config.bin,
            "node_count": config.node_count,
            "concurrency": config.concurrency,
            "rate": config.rate,
            "time_limit_secs": config.time_limit.as_secs_f64(),
            "latency_ms": config.latency.as_secs_f64() * 1e3,
            "nemesis": config.nemesis.iter().map(|f| f.name()).collect::<Vec<_>>(),
            "nemesis_interval_secs": config.nemesis_interval.as_secs_f64(),
            "seed": config.seed,
        },
    });
    write_file(
        dir.join("results.json"),
        serde_json::to_string_pretty(&results).expect("JSON serializes"),
    )?;
    let edn_valid = match verdict {
        Verdict::Ok => "true",
        Verdict::Illegal => "false",
        Verdict::Unknown => ":unknown",
    };
    write_file(
        dir.join("results.edn"),
        format!(
            "{{:valid? {edn_valid},\n :workload {{:valid? {edn_valid}}},\n :availability {{:valid? {available}, :ok-fraction {availability}}},\n :net {{:servers {{:send-count {}, :msg-count {}, :msgs-per-op {msgs_per_op}}}}},\n :stats {{:count {}, :ok-count {ok}, :fail-count {failed}, :info-count {unknown}}}}}\n",
            stats.servers.sent,
            stats.servers.delivered,
            ops.len()
        ),
    )?;

    let model = if config.workload == Workload::LinKv {
        "keyed-cas-register"
    } else {
        config.workload.name()
    };
    let doc = json!({
        "model": model,
        "operations": history.operations,
        "annotations": history.annotations,
    });
    write_file(
        dir.join("history.json"),
        serde_json::to_string(&doc).expect("JSON serializes"),
    )?;
    write_file(
        dir.join("history.edn"),
        edn::write(&history, config.workload == Workload::LinKv),
    )?;

    let (view, result) = match analysis.checked {
        Some((mut view, result)) => {
            view.annotations = history.annotations.clone();
            (view, result)
        }
        None => (
            generic_view(config.workload, &history),
            CheckResult {
                verdict,
                partitions: Vec::new(),
                micros: (analysis_secs * 1e6) as u64,
                counterexample: None,
            },
        ),
    };
    write_file(dir.join("timeline.html"), viz::render_html(&view, &result))?;
    let mut picture_errors = Vec::new();
    for (name, svg) in [
        ("latency.svg", plots::latency(&history, outcome.run_start)),
        ("rate.svg", plots::rate(&history, outcome.run_start)),
        (
            "messages.svg",
            plots::lamport(&net.message_log(), nodes.count()),
        ),
    ] {
        match svg {
            Ok(svg) => write_file(dir.join(name), svg)?,
            Err(e) => picture_errors.push(format!("{name}: {e}")),
        }
    }
    summary.extend(picture_errors);
    Ok(Report {
        dir: dir.to_path_buf(),
        verdict,
        exit_code,
        summary,
        analysis_secs,
        operations: history.operations.len(),
    })
}
