//! Applications: the user's `Map` and `Reduce` (the lab's `mrapps/*.go` plugins), by name.
//!
//! An [`App`] maps a file name and its contents to key/value pairs and reduces a key with all its
//! values to one string. Both return futures over the worker's [`Env`], because some of the lab's
//! applications sleep, look at process ids, write marker files or crash on purpose: they ask
//! their driver for that, so the simulator can give them virtual time and simulated pids and the
//! real runtime real ones. Pure applications (wc, indexer, nocrash) never ask for anything.
//!
//! | name | map | reduce | used by test |
//! |---|---|---|---|
//! | `wc` | `(word, "1")` per word (maximal runs of letters) | the count | wc |
//! | `indexer` | `(word, file)` once per distinct word of the file | `"<n> f1,f2,.."` sorted | indexer |
//! | `mtiming` | `times-<pid>`, `parallel-<pid>` (live mappers, then 1 s sleep) | sorted values joined | map parallelism |
//! | `rtiming` | keys `a`..`j` | live reducers (then 1 s sleep) | reduce parallelism |
//! | `jobcount` | a marker file per call, 2-5 s sleep, `("a", "x")` | marker files counted | job count |
//! | `early_exit` | `(file, "1")` | the count, after 3 s for keys with `sherlock` or `tom` | early exit |
//! | `crash` | as nocrash, but may crash (33%) or sleep 0-10 s (33%) first | likewise | crash |
//! | `nocrash` | `a`: file, `b`: its length, `c`: contents length, `d`: `xyzzy` | sorted values joined | crash |
//!
//! [`external::External`] runs a user's own map and reduce programs (records on stdin and stdout,
//! in the manner of Hadoop Streaming) through [`crate::Need::RunCommand`].

pub mod external;
mod lab;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use crate::env::{Env, EnvError, IoError};

pub use lab::{CrashApp, EarlyExit, Indexer, JobCount, MTiming, NoCrash, RTiming, WordCount};

/// A key/value pair emitted by a map (Go's `mr.KeyValue`).
pub type KeyValue = (String, String);

/// The future an application returns.
pub type AppFuture<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// Why an application call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Io(#[from] IoError),
    /// An external program's output could not be read as records.
    #[error("{program}: output line {line}: {message}")]
    BadOutput {
        program: String,
        line: usize,
        message: String,
    },
}

/// A MapReduce application. Implementations are stateless: the futures they return own
/// everything they need.
pub trait App {
    /// The name it is known by (`--app NAME`).
    fn name(&self) -> &str;
    /// `Map(filename, contents)`.
    fn map(&self, env: Env, filename: String, contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>>;
    /// `Reduce(key, values)`: one output line `key value` per key.
    fn reduce(&self, env: Env, key: String, values: Vec<String>) -> AppFuture<String>;
    /// A whole reduce task at once (keys sorted, each with its values), for applications that
    /// reduce a task in one go (an external program per task instead of one per key). The
    /// default hands the groups back (`Err`), which means: call [`App::reduce`] once per key.
    #[allow(clippy::type_complexity)]
    fn reduce_task(
        &self,
        env: Env,
        groups: Vec<(String, Vec<String>)>,
    ) -> Result<AppFuture<Vec<KeyValue>>, Vec<(String, Vec<String>)>> {
        let _ = env;
        Err(groups)
    }
}

/// The names [`by_name`] knows.
pub const NAMES: [&str; 8] = [
    "wc",
    "indexer",
    "mtiming",
    "rtiming",
    "jobcount",
    "early_exit",
    "crash",
    "nocrash",
];

/// The lab's application called `name` (without `.so`), if any.
pub fn by_name(name: &str) -> Option<Rc<dyn App>> {
    let app: Rc<dyn App> = match name {
        "wc" => Rc::new(WordCount),
        "indexer" => Rc::new(Indexer),
        "mtiming" => Rc::new(MTiming),
        "rtiming" => Rc::new(RTiming),
        "jobcount" => Rc::new(JobCount),
        "early_exit" => Rc::new(EarlyExit),
        "crash" => Rc::new(CrashApp),
        "nocrash" => Rc::new(NoCrash),
        _ => return None,
    };
    Some(app)
}

/// Go's `strings.FieldsFunc(contents, func(r) bool { return !unicode.IsLetter(r) })`: the maximal
/// runs of letters. (`char::is_alphabetic` is Unicode's Alphabetic property, a slight superset of
/// Go's letter categories; the reference and the workers use the same function.)
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
}
