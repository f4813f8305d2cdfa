//! The worker's world as data: what it asks for ([`Need`]) and what it is given back ([`Got`]).
//!
//! A worker (and each application call inside it) is written as ordinary `async` Rust against an
//! [`Env`] handle, but nothing here is asynchronous IO: every `Env` method posts one [`Need`] and
//! suspends until the driver hands back the matching [`Got`]. A [`Coroutine`] wraps such a future;
//! its driver calls [`Coroutine::resume`] with the answer to the previous need and gets the next
//! one. The simulator answers in virtual time (a `Sleep` becomes a timer, a file is an entry of its
//! simulated file system, a pid is a host's incarnation); the real runtime answers with tokio, real
//! files and real processes. Either way the core never reads a clock, opens a file or spawns
//! anything itself.
//!
//! The future is polled with a no-op waker: it can only be woken by `resume`, so there is nothing
//! to wake. A need is answered exactly once, in order; answering with the wrong kind of [`Got`] is a
//! driver bug and fails the coroutine with [`EnvError::Mismatch`] instead of panicking.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::protocol::{Reply, Request};

/// Milliseconds, virtual or real, as the driver counts them.
pub type Millis = u64;

/// One thing a worker or an application asks its driver to do. Paths are relative to the job's
/// shared directory (the lab's `mr-tmp/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// An RPC to the coordinator; answered by [`Got::Reply`] (`None`: the call failed).
    Call(Request),
    /// The whole contents of a file; answered by [`Got::Bytes`].
    ReadFile { path: String },
    /// Creates or replaces a file with these bytes; answered by [`Got::Done`]. Used for temporary
    /// files and for the applications' marker files, never for a final output.
    WriteFile { path: String, bytes: Vec<u8> },
    /// Atomically renames `from` to `to`, replacing `to`; answered by [`Got::Done`].
    Rename { from: String, to: String },
    /// Removes a file; answered by [`Got::Done`].
    RemoveFile { path: String },
    /// The names of the files in the shared directory; answered by [`Got::Names`].
    ListDir,
    /// Suspends for this long; answered by [`Got::Done`].
    Sleep(Millis),
    /// The current time in ms since the Unix epoch (the simulator: since the start of the run);
    /// answered by [`Got::Time`].
    Now,
    /// This process's id; answered by [`Got::Pid`].
    Pid,
    /// Whether the process with this id is alive (`kill(pid, 0)`); answered by [`Got::Alive`].
    Alive(u32),
    /// A uniformly random number in `0..bound` (crash.go's `crypto/rand`); answered by
    /// [`Got::Random`]. The simulator draws it from the run's seed.
    Random(u64),
    /// Runs an external program (`argv[0]`, found on `PATH`) with these arguments and extra
    /// environment variables, `stdin` on its standard input; answered by [`Got::Bytes`] with its
    /// standard output, or an error if it could not start or exited unsuccessfully. Only the real
    /// runtime can; the simulator answers with an error.
    RunCommand {
        argv: Vec<String>,
        vars: Vec<(String, String)>,
        stdin: Vec<u8>,
    },
    /// Ends the process abruptly, at once, without cleaning up (crash.go's `os.Exit(1)`). Never
    /// answered.
    Crash,
}

/// A driver's answer to the last [`Need`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Got {
    Reply(Option<Reply>),
    Bytes(Result<Arc<[u8]>, IoError>),
    Done(Result<(), IoError>),
    Names(Vec<String>),
    Time(Millis),
    Pid(u32),
    Alive(bool),
    Random(u64),
}

/// A failed file or command operation, as the driver reports it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{op} {path}: {message}")]
pub struct IoError {
    /// What was attempted (`read`, `write`, `rename`, `remove`, `run`).
    pub op: &'static str,
    /// The file (or program) it was attempted on.
    pub path: String,
    pub message: String,
}

/// Errors of the coroutine plumbing itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// The driver answered a need with the wrong kind of answer.
    #[error("the driver answered {need} with {got}")]
    Mismatch { need: String, got: String },
}

#[derive(Default)]
struct Slot {
    need: Option<Need>,
    got: Option<Got>,
}

/// The handle through which a coroutine asks for things. Cheap to clone; all clones talk to the
/// same driver.
#[derive(Clone, Default)]
pub struct Env {
    slot: Rc<RefCell<Slot>>,
}

/// The future of one [`Need`]: pending until the driver answers.
struct Ask {
    slot: Rc<RefCell<Slot>>,
    need: Option<Need>,
}

impl Future for Ask {
    type Output = Got;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Got> {
        if let Some(need) = self.need.take() {
            self.slot.borrow_mut().need = Some(need);
            return Poll::Pending;
        }
        match self.slot.borrow_mut().got.take() {
            Some(got) => Poll::Ready(got),
            None => Poll::Pending,
        }
    }
}

fn mismatch(need: &str, got: Got) -> EnvError {
    EnvError::Mismatch {
        need: need.to_string(),
        got: format!("{got:?}"),
    }
}

impl Env {
    /// Posts `need` and waits for its answer.
    pub async fn ask(&self, need: Need) -> Got {
        Ask {
            slot: self.slot.clone(),
            need: Some(need),
        }
        .await
    }

    pub async fn call(&self, req: Request) -> Result<Option<Reply>, EnvError> {
        match self.ask(Need::Call(req)).await {
            Got::Reply(r) => Ok(r),
            got => Err(mismatch("Call", got)),
        }
    }

    pub async fn read_file(&self, path: &str) -> Result<Result<Arc<[u8]>, IoError>, EnvError> {
        match self
            .ask(Need::ReadFile {
                path: path.to_string(),
            })
            .await
        {
            Got::Bytes(b) => Ok(b),
            got => Err(mismatch("ReadFile", got)),
        }
    }

    async fn done(&self, need: Need, name: &str) -> Result<Result<(), IoError>, EnvError> {
        match self.ask(need).await {
            Got::Done(r) => Ok(r),
            got => Err(mismatch(name, got)),
        }
    }

    pub async fn write_file(
        &self,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<Result<(), IoError>, EnvError> {
        let need = Need::WriteFile {
            path: path.to_string(),
            bytes,
        };
        self.done(need, "WriteFile").await
    }

    pub async fn rename(&self, from: &str, to: &str) -> Result<Result<(), IoError>, EnvError> {
        let need = Need::Rename {
            from: from.to_string(),
            to: to.to_string(),
        };
        self.done(need, "Rename").await
    }

    pub async fn remove_file(&self, path: &str) -> Result<Result<(), IoError>, EnvError> {
        let need = Need::RemoveFile {
            path: path.to_string(),
        };
        self.done(need, "RemoveFile").await
    }

    pub async fn list_dir(&self) -> Result<Vec<String>, EnvError> {
        match self.ask(Need::ListDir).await {
            Got::Names(n) => Ok(n),
            got => Err(mismatch("ListDir", got)),
        }
    }

    pub async fn sleep(&self, ms: Millis) -> Result<(), EnvError> {
        match self.ask(Need::Sleep(ms)).await {
            Got::Done(_) => Ok(()),
            got => Err(mismatch("Sleep", got)),
        }
    }

    pub async fn now(&self) -> Result<Millis, EnvError> {
        match self.ask(Need::Now).await {
            Got::Time(t) => Ok(t),
            got => Err(mismatch("Now", got)),
        }
    }

    pub async fn pid(&self) -> Result<u32, EnvError> {
        match self.ask(Need::Pid).await {
            Got::Pid(p) => Ok(p),
            got => Err(mismatch("Pid", got)),
        }
    }

    pub async fn alive(&self, pid: u32) -> Result<bool, EnvError> {
        match self.ask(Need::Alive(pid)).await {
            Got::Alive(a) => Ok(a),
            got => Err(mismatch("Alive", got)),
        }
    }

    pub async fn random(&self, bound: u64) -> Result<u64, EnvError> {
        match self.ask(Need::Random(bound)).await {
            Got::Random(r) => Ok(r % bound.max(1)),
            got => Err(mismatch("Random", got)),
        }
    }

    pub async fn run_command(
        &self,
        argv: Vec<String>,
        vars: Vec<(String, String)>,
        stdin: Vec<u8>,
    ) -> Result<Result<Arc<[u8]>, IoError>, EnvError> {
        match self.ask(Need::RunCommand { argv, vars, stdin }).await {
            Got::Bytes(b) => Ok(b),
            got => Err(mismatch("RunCommand", got)),
        }
    }

    /// Ends the process. The driver never answers, so this never returns.
    pub async fn crash(&self) -> ! {
        self.ask(Need::Crash).await;
        unreachable!("a driver never answers Need::Crash")
    }
}

/// What [`Coroutine::resume`] yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<T> {
    /// The coroutine waits for the answer to this.
    Need(Need),
    /// It finished with this value.
    Done(T),
}

struct NoopWaker;
impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

/// A future over an [`Env`], driven one [`Need`] at a time.
pub struct Coroutine<T> {
    env: Env,
    fut: Option<Pin<Box<dyn Future<Output = T>>>>,
    waker: Waker,
}

impl<T> Coroutine<T> {
    /// Builds the future with a fresh [`Env`]; nothing runs until the first [`Coroutine::resume`].
    pub fn new<F: Future<Output = T> + 'static>(make: impl FnOnce(Env) -> F) -> Self {
        let env = Env::default();
        let fut = Box::pin(make(env.clone()));
        Coroutine {
            env,
            fut: Some(fut),
            waker: Waker::from(Arc::new(NoopWaker)),
        }
    }

    /// Hands the answer to the previous need (`None` on the first call) and runs the coroutine up
    /// to its next need or its end. Resuming a finished coroutine yields `Step::Need(Need::Crash)`
    /// forever: there is nothing more it can do.
    pub fn resume(&mut self, got: Option<Got>) -> Step<T> {
        let Some(fut) = self.fut.as_mut() else {
            return Step::Need(Need::Crash);
        };
        self.env.slot.borrow_mut().got = got;
        let mut cx = Context::from_waker(&self.waker);
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => {
                self.fut = None;
                Step::Done(v)
            }
            Poll::Pending => match self.env.slot.borrow_mut().need.take() {
                Some(need) => Step::Need(need),
                // A future that waits on something other than its Env would hang; treat it as a
                // crash of the process rather than spin.
                None => {
                    self.fut = None;
                    Step::Need(Need::Crash)
                }
            },
        }
    }
}

/// Runs a coroutine to its end, answering each need with `answer` at once (the sequential
/// reference and tests). If `answer` declines a need (returns `None`, e.g. for [`Need::Crash`]),
/// the run stops and that need is returned.
pub fn run_blocking<T>(
    mut co: Coroutine<T>,
    mut answer: impl FnMut(Need) -> Option<Got>,
) -> Result<T, Need> {
    let mut got = None;
    loop {
        match co.resume(got) {
            Step::Done(v) => return Ok(v),
            Step::Need(need) => match answer(need.clone()) {
                Some(g) => got = Some(g),
                None => return Err(need),
            },
        }
    }
}
