//! The worker (the lab's `mr/worker.go`) as a [`Coroutine`] of [`Need`](crate::Need)s.
//!
//! # What a worker does
//! 1. It asks the coordinator for a task. `Wait`: it sleeps [`WorkerConfig::wait_ms`] and asks
//!    again. `Exit`: it ends with [`WorkerEnd::JobDone`]. A failed call is retried every
//!    [`WorkerConfig::retry_ms`]; after [`WorkerConfig::max_call_failures`] failures in a row it
//!    ends with [`WorkerEnd::CoordinatorGone`] (the lab allows exiting when `call()` fails; the
//!    retries ride out a coordinator briefly unreachable).
//! 2. **Map task X** on file F: it reads F, runs the application's map, puts each pair in bucket
//!    `ihash(key) % nReduce` as one JSON line `["key","value"]`, writes every bucket Y (empty ones
//!    too) to a temporary file `mr-tmp-X-Y-<attempt>`, then renames each to `mr-X-Y`.
//! 3. **Reduce task Y**: it reads `mr-X-Y` for every map task X, sorts the pairs by key (stably,
//!    so a key's values keep the map tasks' order), runs the application's reduce per key (or once
//!    for the task, see [`crate::App::reduce_task`]), writes `key output` lines to
//!    `mr-tmp-out-Y-<attempt>` and renames it to `mr-out-Y`.
//! 4. It reports the task with the digest of the files it renamed, and goes back to 1.
//!
//! A rename is the only way a file reaches its final name, so a crash at any point leaves either
//! no final file or a whole one, plus perhaps temporary files that no reader looks at (their names
//! start with `mr-tmp-`, so the script's `mr-out*` never sees them). Two executions of one task
//! (a backup after the 10 s re-issue) write the same bytes, so whichever rename comes last
//! changes nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use crate::apps::{App, AppError, KeyValue};
use crate::env::{Coroutine, Env, EnvError, IoError, Millis};
use crate::hash::{digest, ihash, DIGEST_START};
use crate::protocol::{Assignment, Reply, Request, TaskId};

/// Timing knobs of a worker (the defaults suit both virtual and real time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Sleep after a `Wait` reply.
    pub wait_ms: Millis,
    /// Sleep between retries of a failed call.
    pub retry_ms: Millis,
    /// Consecutive failed calls after which the worker gives up.
    pub max_call_failures: u32,
    /// Test-only: a known bug put back in ([`crate::Mutation`]); `None` in any real use.
    pub mutation: Option<crate::Mutation>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            wait_ms: 200,
            retry_ms: 500,
            max_call_failures: 10,
            mutation: None,
        }
    }
}

/// How a worker ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerEnd {
    /// The coordinator said the job is done.
    JobDone,
    /// The coordinator could not be reached [`WorkerConfig::max_call_failures`] times in a row.
    CoordinatorGone,
}

/// Why a worker stopped with an error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("{task}: {source}")]
    Io { task: TaskId, source: IoError },
    #[error("{task}: the application failed: {source}")]
    App { task: TaskId, source: AppError },
    #[error("{path}: line {line}: not an intermediate record: {message}")]
    Intermediate {
        path: String,
        line: usize,
        message: String,
    },
    #[error("the coordinator sent a map task without its input file")]
    NoInputFile,
}

/// The intermediate file of map task `x` for reduce task `y`.
pub fn intermediate_name(x: usize, y: usize) -> String {
    format!("mr-{x}-{y}")
}

/// The output file of reduce task `y`.
pub fn output_name(y: usize) -> String {
    format!("mr-out-{y}")
}

/// A worker running `app`; drive it with [`Coroutine::resume`].
pub fn worker(app: Rc<dyn App>, config: WorkerConfig) -> Coroutine<Result<WorkerEnd, WorkerError>> {
    Coroutine::new(move |env| run(env, app, config))
}

async fn run(env: Env, app: Rc<dyn App>, cfg: WorkerConfig) -> Result<WorkerEnd, WorkerError> {
    let mut failures = 0;
    loop {
        let a = match env.call(Request::GetTask).await? {
            Some(Reply::Task(a)) => a,
            Some(Reply::Exit) => return Ok(WorkerEnd::JobDone),
            Some(Reply::Wait | Reply::Ack) => {
                failures = 0;
                env.sleep(cfg.wait_ms).await?;
                continue;
            }
            None => {
                failures += 1;
                if failures >= cfg.max_call_failures {
                    return Ok(WorkerEnd::CoordinatorGone);
                }
                env.sleep(cfg.retry_ms).await?;
                continue;
            }
        };
        failures = 0;
        let digest = match a.task {
            TaskId::Map(x) => map_task(&env, &*app, &a, x).await?,
            TaskId::Reduce(y) => reduce_task(&env, &*app, &a, y, cfg.mutation).await?,
        };
        let report = Request::Report {
            task: a.task,
            attempt: a.attempt,
            digest,
        };
        while env.call(report.clone()).await?.is_none() {
            failures += 1;
            if failures >= cfg.max_call_failures {
                return Ok(WorkerEnd::CoordinatorGone);
            }
            env.sleep(cfg.retry_ms).await?;
        }
        failures = 0;
    }
}

async fn map_task(env: &Env, app: &dyn App, a: &Assignment, x: usize) -> Result<u64, WorkerError> {
    let task = a.task;
    let file = a.file.clone().ok_or(WorkerError::NoInputFile)?;
    let contents = env
        .read_file(&file)
        .await?
        .map_err(|source| WorkerError::Io { task, source })?;
    let kvs = app
        .map(env.clone(), file, contents)
        .await
        .map_err(|source| WorkerError::App { task, source })?;
    let n_reduce = a.n_reduce.max(1);
    let mut buckets: Vec<Vec<u8>> = vec![Vec::new(); n_reduce];
    for (k, v) in &kvs {
        let b = &mut buckets[ihash(k) as usize % n_reduce];
        // Serializing a pair of strings into a Vec cannot fail.
        serde_json::to_writer(&mut *b, &(k, v)).expect("strings serialize");
        b.push(b'\n');
    }
    let mut h = DIGEST_START;
    let mut temps = Vec::with_capacity(n_reduce);
    for (y, bytes) in buckets.into_iter().enumerate() {
        h = digest(h, &bytes);
        let tmp = format!("mr-tmp-{x}-{y}-{}", a.attempt);
        env.write_file(&tmp, bytes)
            .await?
            .map_err(|source| WorkerError::Io { task, source })?;
        temps.push(tmp);
    }
    for (y, tmp) in temps.iter().enumerate() {
        env.rename(tmp, &intermediate_name(x, y))
            .await?
            .map_err(|source| WorkerError::Io { task, source })?;
    }
    Ok(h)
}

/// Reads one intermediate file's JSON lines.
pub fn parse_intermediate(path: &str, bytes: &[u8]) -> Result<Vec<KeyValue>, WorkerError> {
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let kv: KeyValue = serde_json::from_slice(line).map_err(|e| WorkerError::Intermediate {
            path: path.to_string(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(kv);
    }
    Ok(out)
}

/// Sorts pairs by key (stably) and groups the values of each key: the same groups, in the same
/// order, as a stable sort by key followed by a scan, but it sorts only the distinct keys (a wc
/// task has some 20 000 of them for about a million pairs), which is where the reference and the
/// reducers spent most of their time. The map is keyed by [`ihash`]'s FNV-1a, so nothing here
/// depends on a process-random seed (the order is thrown away anyway: the keys are sorted).
pub fn group(kvs: Vec<KeyValue>) -> Vec<(String, Vec<String>)> {
    let mut index: HashMap<String, usize, BuildHasherDefault<Fnv>> = HashMap::default();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in kvs {
        match index.get(k.as_str()) {
            Some(&i) => groups[i].1.push(v),
            None => {
                index.insert(k.clone(), groups.len());
                groups.push((k, vec![v]));
            }
        }
    }
    // Keys are distinct, so an unstable sort gives the one order there is.
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    groups
}

/// FNV-1a 64 as a [`Hasher`], for [`group`]'s map.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(DIGEST_START)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = digest(self.0, bytes);
    }
}

/// Runs the application's reduce over sorted groups and formats the output lines (`"%v %v\n"`).
pub(crate) async fn reduce_groups(
    env: &Env,
    app: &dyn App,
    groups: Vec<(String, Vec<String>)>,
) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    let mut line = |k: &str, v: &str| {
        out.extend_from_slice(k.as_bytes());
        out.push(b' ');
        out.extend_from_slice(v.as_bytes());
        out.push(b'\n');
    };
    match app.reduce_task(env.clone(), groups) {
        Ok(fut) => {
            for (k, v) in fut.await? {
                line(&k, &v);
            }
        }
        Err(groups) => {
            for (k, vs) in groups {
                let v = app.reduce(env.clone(), k.clone(), vs).await?;
                line(&k, &v);
            }
        }
    }
    Ok(out)
}

async fn reduce_task(
    env: &Env,
    app: &dyn App,
    a: &Assignment,
    y: usize,
    mutation: Option<crate::Mutation>,
) -> Result<u64, WorkerError> {
    let task = a.task;
    let mut kvs = Vec::new();
    for x in 0..a.n_map {
        let path = intermediate_name(x, y);
        let bytes = env
            .read_file(&path)
            .await?
            .map_err(|source| WorkerError::Io { task, source })?;
        kvs.extend(parse_intermediate(&path, &bytes)?);
    }
    let out = reduce_groups(env, app, group(kvs))
        .await
        .map_err(|source| WorkerError::App { task, source })?;
    let h = digest(DIGEST_START, &out);
    if mutation == Some(crate::Mutation::WriteInPlace) {
        env.write_file(&output_name(y), out)
            .await?
            .map_err(|source| WorkerError::Io { task, source })?;
        return Ok(h);
    }
    let tmp = format!("mr-tmp-out-{y}-{}", a.attempt);
    env.write_file(&tmp, out)
        .await?
        .map_err(|source| WorkerError::Io { task, source })?;
    env.rename(&tmp, &output_name(y))
        .await?
        .map_err(|source| WorkerError::Io { task, source })?;
    Ok(h)
}
