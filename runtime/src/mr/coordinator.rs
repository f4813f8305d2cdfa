//! `quill mr coordinator`: the sans-IO [`Coordinator`] behind a Unix socket.
//!
//! Like `mrcoordinator.go` it checks `Done()` every second and, once the job is done, waits one
//! more second (so workers asking for work hear `Exit`) before it removes its socket and returns.
//! The coordinator's clock is the milliseconds since it started; only differences matter.
//!
//! # Held requests
//! A `GetTask` the core answers with `Wait` (every task handed out, none stale yet) is not
//! answered at once: the connection is held and the request handled again whenever a report
//! comes in (a task done may finish the map phase, or the job), or every [`RECHECK`] (a task may
//! have gone stale), for at most [`HOLD`]; only then does the worker hear `Wait`. Answering `Wait`
//! at once left the worker asleep for its 200 ms `wait_ms` at the end of each phase, which on the
//! eight books was longer than the job itself and made more workers slower than one. The core
//! is unchanged: holding is how this driver delivers its replies.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mapreduce::{CoordEvent, Coordinator, Reply, Request};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::Notify;

use super::{rpc, MrError};

/// The longest a `GetTask` is held before the worker hears `Wait` (well under
/// [`rpc::CALL_TIMEOUT`], after which the worker would count the call as failed).
pub const HOLD: Duration = Duration::from_secs(1);
/// How often a held request is handled again without a report (for tasks gone stale).
pub const RECHECK: Duration = Duration::from_millis(250);

/// What to serve.
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    pub files: Vec<String>,
    pub n_reduce: usize,
    pub dir: PathBuf,
    pub socket: PathBuf,
    /// Log every assignment and report on stderr.
    pub verbose: bool,
}

/// Serves the job until it is done; must run inside a `LocalSet` (connections are handled on
/// the current thread, sharing the coordinator without locks).
pub async fn serve(cfg: CoordinatorConfig) -> Result<(), MrError> {
    for f in &cfg.files {
        if !cfg.dir.join(f).is_file() {
            return Err(MrError::MissingInput {
                path: f.clone(),
                dir: cfg.dir.clone(),
            });
        }
    }
    let listener = bind(&cfg.socket).await?;
    let coord = Rc::new(RefCell::new(Coordinator::new(
        cfg.files.clone(),
        cfg.n_reduce,
    )));
    let start = Instant::now();
    let verbose = cfg.verbose;
    // Woken on every report, for the held requests.
    let reports = Rc::new(Notify::new());
    let accept = {
        let coord = coord.clone();
        async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (coord, reports) = (coord.clone(), reports.clone());
                tokio::task::spawn_local(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    let Some(line) = rpc::read_line(&mut reader).await else {
                        return;
                    };
                    let Ok(req) = serde_json::from_slice::<Request>(&line) else {
                        return;
                    };
                    let reply = answer(&coord, &reports, start, verbose, req).await;
                    let mut out = serde_json::to_vec(&reply).expect("replies serialize");
                    out.push(b'\n');
                    let _ = write.write_all(&out).await;
                });
            }
        }
    };
    let poll = async {
        while !coord.borrow().done() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    tokio::select! {
        () = accept => {}
        () = poll => {}
    }
    // The socket may have been moved away by a fault; removing what is there is best effort.
    let _ = std::fs::remove_file(&cfg.socket);
    Ok(())
}

/// Handles `req`; a `Wait` is held as the module documentation says.
async fn answer(
    coord: &RefCell<Coordinator>,
    reports: &Notify,
    start: Instant,
    verbose: bool,
    req: Request,
) -> Reply {
    let held = Instant::now();
    loop {
        // Registered before handling: a report that lands while this request waits wakes it.
        let next_report = reports.notified();
        let now = start.elapsed().as_millis() as u64;
        let reply = {
            let mut c = coord.borrow_mut();
            let reply = c.handle(now, req.clone());
            for e in c.take_events() {
                log(verbose, now, &e);
            }
            reply
        };
        if matches!(req, Request::Report { .. }) {
            reports.notify_waiters();
        }
        let left = HOLD.saturating_sub(held.elapsed());
        if reply != Reply::Wait || left.is_zero() {
            return reply;
        }
        let _ = tokio::time::timeout(left.min(RECHECK), next_report).await;
    }
}

fn log(verbose: bool, now: u64, e: &CoordEvent) {
    if verbose || matches!(e, CoordEvent::Conflict { .. }) {
        eprintln!("quill-mr coordinator {:>7} ms: {e:?}", now);
    }
}

/// Binds the socket, replacing a stale file left by a coordinator that died, but refusing to
/// steal the socket of one that is alive.
async fn bind(socket: &Path) -> Result<UnixListener, MrError> {
    if socket.exists() {
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return Err(MrError::SocketInUse(socket.to_path_buf()));
        }
        std::fs::remove_file(socket).map_err(MrError::io("remove stale socket", socket))?;
    }
    UnixListener::bind(socket).map_err(MrError::io("bind", socket))
}
