//! `quill gen`: writes a synthetic history, linearizable by construction or with one anomaly put in
//! (see `checker::gen`). The same options and seed always give the same file.
//!
//! ```text
//! quill gen --model kv --clients 100 --keys 1000 --ops 1000000 --concurrency 50 --jsonl -o big.jsonl
//! quill gen --model cas-register --ops 200 --anomaly stale-read --seed 7 -o bad.json
//! quill gen --model register --clients 5 --ops 80 --pending-rate 0.15 --anomaly stale-read -o info.json
//! ```

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use checker::gen::{generate, Anomaly, GenModel, GenOptions};

#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// The object: kv, register or cas-register.
    #[arg(long, default_value = "kv")]
    pub model: String,
    /// Clients (processes); each has at most one operation outstanding.
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Keys of the kv store.
    #[arg(long, default_value_t = 10)]
    pub keys: usize,
    /// Operations in the history.
    #[arg(long = "ops", default_value_t = 1000)]
    pub operations: usize,
    /// At most this many operations outstanding at once (default: the number of clients).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Put in one violation: stale-read or lost-write. The result is checked to be non-linearizable.
    #[arg(long)]
    pub anomaly: Option<String>,
    /// The fraction of operations (0 to 1) that get no response, as timed-out requests: each may take
    /// effect or not, and its client goes on under a new id.
    #[arg(long, default_value_t = 0.0, value_name = "R")]
    pub pending_rate: f64,
    /// The seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write JSON Lines (a header line, then one operation per line) instead of one JSON document.
    #[arg(long)]
    pub jsonl: bool,
    /// Where to write (default: standard output).
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

pub fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    let model: GenModel = args.model.parse().context("--model")?;
    let anomaly: Option<Anomaly> = args
        .anomaly
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--anomaly")?;
    let options = GenOptions {
        model,
        clients: args.clients,
        keys: args.keys,
        operations: args.operations,
        concurrency: args.concurrency.unwrap_or(args.clients),
        anomaly,
        seed: args.seed,
        pending_rate: args.pending_rate,
    };
    let history = generate(&options).context("generating the history")?;
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            history
                .write(BufWriter::new(file), args.jsonl)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut out = BufWriter::new(stdout);
            match history
                .write(&mut out, args.jsonl)
                .and_then(|()| out.flush())
            {
                // `quill gen ... | head`: the reader has what it wanted; stop quietly, as `check` does.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    // The buffer still holds bytes that can never be written; dropping it must not
                    // try again and fail.
                    let _ = out.into_parts();
                }
                written => written.context("writing to standard output")?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
