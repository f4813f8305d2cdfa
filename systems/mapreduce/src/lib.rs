//! `mapreduce`: the MapReduce of 6.824/6.5840 lab 1 as sans-IO state machines.
//!
//! - [`Coordinator`]: hands out one map task per input file, then `nReduce` reduce tasks;
//!   re-issues a task not finished within [`REISSUE_AFTER`] (10 s); knows when the job is done and
//!   then tells workers to exit. A plain function of requests and the time the driver passes in.
//! - [`worker()`]: asks for tasks, runs the application, buckets map output by [`ihash`]` % nReduce`
//!   into `mr-X-Y`, writes `mr-out-Y`, always through a temporary file and an atomic rename.
//! - [`apps`]: the [`App`] trait and the lab's applications by name ([`apps::by_name`]), plus
//!   [`apps::external::External`] for map and reduce programs of the user's own.
//! - [`sequential()`]: the reference output (`mrsequential`), and [`canonical`] to compare.
//! - [`script`]: the seven tests of `test-mr.sh` as data (workers, application, time limit) and
//!   their assertions, shared by the simulated and the real-process drivers.
//!
//! # Sans-IO by coroutine
//! The worker must read and write files, sleep (some applications do), look at process ids and
//! even crash. None of that happens here: the worker is an `async` function over an [`Env`]
//! whose every method posts a [`Need`] and suspends until the driver answers with a [`Got`]
//! (module [`env`](mod@env)). The simulator (`labs::mr`) answers in virtual time with a simulated file
//! system; the real runtime (`runtime::mr`) with tokio, files and processes. Nothing in this crate
//! reads a clock, spawns a thread or a process, or touches the file system.
//!
//! ```
//! use std::sync::Arc;
//! use mapreduce::{apps, worker, Coordinator, Got, Need, Reply, Request, Step, WorkerConfig};
//!
//! let mut coord = Coordinator::new(vec!["a.txt".into()], 1);
//! let mut w = worker(apps::by_name("wc").unwrap(), WorkerConfig::default());
//! let mut files = std::collections::BTreeMap::<String, Arc<[u8]>>::new();
//! files.insert("a.txt".into(), Arc::from(&b"the cat the"[..]));
//! let mut got = None;
//! let end = loop {
//!     let need = match w.resume(got.take()) {
//!         Step::Done(end) => break end,
//!         Step::Need(need) => need,
//!     };
//!     got = Some(match need {
//!         Need::Call(req) => Got::Reply(Some(coord.handle(0, req))),
//!         Need::ReadFile { path } => Got::Bytes(Ok(files[&path].clone())),
//!         Need::WriteFile { path, bytes } => {
//!             files.insert(path, bytes.into());
//!             Got::Done(Ok(()))
//!         }
//!         Need::Rename { from, to } => {
//!             let f = files.remove(&from).unwrap();
//!             files.insert(to, f);
//!             Got::Done(Ok(()))
//!         }
//!         other => unreachable!("wc asks for nothing else: {other:?}"),
//!     });
//! };
//! assert_eq!(end, Ok(mapreduce::WorkerEnd::JobDone));
//! assert!(coord.done());
//! assert_eq!(&*files["mr-out-0"], b"cat 1\nthe 2\n");
//! ```

pub mod apps;
mod coordinator;
pub mod env;
mod hash;
mod protocol;
pub mod script;
mod sequential;
mod worker;

pub use apps::{App, AppError, KeyValue};
pub use coordinator::{CoordEvent, Coordinator, REISSUE_AFTER};
pub use env::{run_blocking, Coroutine, Env, Got, IoError, Millis, Need, Step};
pub use hash::{digest, ihash, DIGEST_START};
pub use protocol::{Assignment, Reply, Request, TaskId};
pub use sequential::{canonical, sequential, SequentialError};
pub use worker::{
    group, intermediate_name, output_name, parse_intermediate, worker, WorkerConfig, WorkerEnd,
    WorkerError,
};

/// The lab's number of reduce tasks.
pub const N_REDUCE: usize = 10;

/// Test-only: a known bug put back in, so tests can show the harness catches it. Off (`None`)
/// in any real use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// The coordinator re-issues a task after 1 s instead of 10 s, so slow map tasks run twice
    /// (the job-count test's "backup tasks must wait more than 10 s").
    ReissueEarly,
    /// A reduce worker writes `mr-out-Y` in place instead of through a temporary file and a
    /// rename, so a crash or a reader can see a partial file.
    WriteInPlace,
}
