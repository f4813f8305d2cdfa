//! `quill mr worker`: one worker process running [`mapreduce::worker`] with [`RealEnv`].

use std::path::PathBuf;
use std::rc::Rc;

use mapreduce::apps::external::External;
use mapreduce::{App, WorkerConfig, WorkerEnd};

use super::driver::RealEnv;
use super::MrError;

/// The application a worker runs: a lab application by name, or external programs.
pub fn app(
    name: &str,
    mapper: Option<&str>,
    reducer: Option<&str>,
) -> Result<Rc<dyn App>, MrError> {
    if name == "external" {
        let split = |s: Option<&str>| -> Vec<String> {
            s.unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        return Ok(Rc::new(External {
            mapper: split(mapper),
            reducer: split(reducer),
        }));
    }
    mapreduce::apps::by_name(name).ok_or_else(|| MrError::UnknownApp {
        name: name.to_string(),
        known: mapreduce::apps::NAMES.join(", "),
    })
}

/// Runs one worker until the job is done or the coordinator is gone.
pub async fn run(
    app: Rc<dyn App>,
    dir: PathBuf,
    socket: PathBuf,
    verbose: bool,
) -> Result<WorkerEnd, MrError> {
    let mut env = RealEnv::new(dir, Some(socket));
    env.verbose = verbose;
    Ok(env
        .drive(mapreduce::worker(app, WorkerConfig::default()))
        .await?)
}

/// `mrsequential`: the reference output of `app` on `files` (relative to `dir`).
pub async fn sequential(
    app: Rc<dyn App>,
    dir: PathBuf,
    files: Vec<String>,
) -> Result<Vec<u8>, MrError> {
    let mut env = RealEnv::new(dir, None);
    Ok(env.drive(mapreduce::sequential(app, files)).await?)
}
