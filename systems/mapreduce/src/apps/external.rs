//! Bring your own map and reduce as programs, in the manner of Hadoop Streaming.
//!
//! # The record protocol
//! - **Map**: the mapper runs once per map task with the input file's contents on standard input
//!   and the file's name in the environment variable `MR_INPUT_FILE`. Every line it prints is one
//!   record `key<TAB>value` (a line without a tab is a key with an empty value).
//! - **Reduce**: the reducer runs once per reduce task. Its standard input holds the task's
//!   records `key<TAB>value`, one per line, sorted by key (values of a key in the order the map
//!   tasks emitted them), so equal keys are adjacent. Every line it prints is `key<TAB>output`
//!   and becomes the output line `key output` of `mr-out-Y`.
//!
//! Keys and values are therefore single lines; a key cannot contain a tab. The programs run in
//! the job's directory. A program that cannot start or exits unsuccessfully fails the task, and the
//! worker stops with that error. See `examples/mapreduce/` for a word count in Python.
//!
//! Spawning is the driver's business ([`crate::Need::RunCommand`]): this module only encodes and
//! decodes records, so the core stays free of processes.

use std::sync::Arc;

use super::{App, AppError, AppFuture, KeyValue};
use crate::env::Env;

/// An application whose map and reduce are external commands (each an argv: program and
/// arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct External {
    pub mapper: Vec<String>,
    pub reducer: Vec<String>,
}

/// Parses `key<TAB>value` lines; `program` names the producer in errors.
pub fn parse_records(program: &str, out: &[u8]) -> Result<Vec<KeyValue>, AppError> {
    let text = std::str::from_utf8(out).map_err(|e| AppError::BadOutput {
        program: program.to_string(),
        line: 1 + out[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        message: "not UTF-8".to_string(),
    })?;
    Ok(text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('\t') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect())
}

/// Encodes records as `key<TAB>value` lines.
pub fn encode_records<'a>(records: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in records {
        out.extend_from_slice(k.as_bytes());
        out.push(b'\t');
        out.extend_from_slice(v.as_bytes());
        out.push(b'\n');
    }
    out
}

impl External {
    fn run_reducer(
        &self,
        env: Env,
        groups: Vec<(String, Vec<String>)>,
    ) -> AppFuture<Vec<KeyValue>> {
        let argv = self.reducer.clone();
        Box::pin(async move {
            let stdin = encode_records(
                groups
                    .iter()
                    .flat_map(|(k, vs)| vs.iter().map(move |v| (k.as_str(), v.as_str()))),
            );
            let program = argv.first().cloned().unwrap_or_default();
            let out = env.run_command(argv, Vec::new(), stdin).await??;
            parse_records(&program, &out)
        })
    }
}

impl App for External {
    fn name(&self) -> &str {
        "external"
    }

    fn map(&self, env: Env, filename: String, contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        let argv = self.mapper.clone();
        Box::pin(async move {
            let program = argv.first().cloned().unwrap_or_default();
            let vars = vec![("MR_INPUT_FILE".to_string(), filename)];
            let out = env.run_command(argv, vars, contents.to_vec()).await??;
            parse_records(&program, &out)
        })
    }

    fn reduce(&self, env: Env, key: String, values: Vec<String>) -> AppFuture<String> {
        let fut = self.run_reducer(env, vec![(key, values)]);
        Box::pin(async move {
            let out = fut.await?;
            Ok(out
                .into_iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join(" "))
        })
    }

    #[allow(clippy::type_complexity)]
    fn reduce_task(
        &self,
        env: Env,
        groups: Vec<(String, Vec<String>)>,
    ) -> Result<AppFuture<Vec<KeyValue>>, Vec<(String, Vec<String>)>> {
        Ok(self.run_reducer(env, groups))
    }
}
