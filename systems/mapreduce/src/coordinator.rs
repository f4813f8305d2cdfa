//! The coordinator (the lab's `mr/coordinator.go`) as a function of requests and the time.
//!
//! # Semantics
//! - The job has one map task per input file and `n_reduce` reduce tasks. Reduce tasks are handed
//!   out only once every map task is done (a reducer needs every `mr-X-Y`).
//! - A task is *idle*, *running* (since some time, under some attempt) or *done*. `GetTask` hands
//!   out the lowest idle task, or else the lowest one that has been running for at least
//!   [`REISSUE_AFTER`] (its worker may have crashed; the lab's 10 s), under a fresh attempt number;
//!   if neither exists the worker is told to wait, and once the job is done, to exit.
//! - The first report of a task marks it done, whichever attempt sent it (a slow original
//!   finishing after its backup was handed out is as good as the backup). Later reports of a done
//!   task change nothing; their digest is compared with the first one and a difference is kept as
//!   a [`CoordEvent::Conflict`] (it would mean two executions renamed different files into place).
//! - Time is whatever the driver passes as `now` (virtual or real ms); there is no timer: a stale
//!   task is noticed when a worker next asks.

use std::collections::BTreeMap;

use crate::env::Millis;
use crate::protocol::{Assignment, Reply, Request, TaskId};

/// A task running this long is handed out again (the lab page: 10 seconds).
pub const REISSUE_AFTER: Millis = 10_000;

#[derive(Clone, Debug, PartialEq, Eq)]
enum TaskState {
    Idle,
    Running { since: Millis, attempt: u64 },
    Done { digest: u64 },
}

/// Something the coordinator did, for the driver's log and the simulator's invariants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordEvent {
    /// `task` was handed out as `attempt`; `reissue` if it had been running too long.
    Assigned {
        task: TaskId,
        attempt: u64,
        reissue: bool,
    },
    /// The first report of `task`: it is done.
    Completed {
        task: TaskId,
        attempt: u64,
        digest: u64,
    },
    /// A later report of a done task with the same digest (a harmless duplicate execution).
    Duplicate { task: TaskId, attempt: u64 },
    /// A later report of a done task with a *different* digest: a broken invariant.
    Conflict {
        task: TaskId,
        first: u64,
        second: u64,
    },
    /// A report the coordinator cannot place (no such task, or an attempt it never handed out).
    Unknown { task: TaskId, attempt: u64 },
    /// Every reduce task is done.
    JobDone,
}

/// The coordinator's state. See the module documentation.
#[derive(Clone, Debug)]
pub struct Coordinator {
    files: Vec<String>,
    n_reduce: usize,
    maps: Vec<TaskState>,
    reduces: Vec<TaskState>,
    next_attempt: u64,
    /// Which task each attempt ran, to recognise reports.
    attempts: BTreeMap<u64, TaskId>,
    events: Vec<CoordEvent>,
    reissue_after: Millis,
}

impl Coordinator {
    /// `MakeCoordinator(files, nReduce)`.
    pub fn new(files: Vec<String>, n_reduce: usize) -> Self {
        Self::with_mutation(files, n_reduce, None)
    }

    /// Test-only: a coordinator with a known bug put back in ([`crate::Mutation`]).
    pub fn with_mutation(
        files: Vec<String>,
        n_reduce: usize,
        mutation: Option<crate::Mutation>,
    ) -> Self {
        let n_map = files.len();
        let reissue_after = match mutation {
            Some(crate::Mutation::ReissueEarly) => 1000,
            _ => REISSUE_AFTER,
        };
        Coordinator {
            files,
            n_reduce,
            maps: vec![TaskState::Idle; n_map],
            reduces: vec![TaskState::Idle; n_reduce],
            next_attempt: 1,
            attempts: BTreeMap::new(),
            events: Vec::new(),
            reissue_after,
        }
    }

    pub fn n_map(&self) -> usize {
        self.files.len()
    }

    pub fn n_reduce(&self) -> usize {
        self.n_reduce
    }

    /// `Done()`: every reduce task is done (with no input files and no reducers, at once).
    pub fn done(&self) -> bool {
        self.maps.iter().all(is_done) && self.reduces.iter().all(is_done)
    }

    /// Handles one request at time `now` and returns the reply.
    pub fn handle(&mut self, now: Millis, req: Request) -> Reply {
        match req {
            Request::GetTask => self.get_task(now),
            Request::Report {
                task,
                attempt,
                digest,
            } => {
                self.report(task, attempt, digest);
                Reply::Ack
            }
        }
    }

    /// What happened since the last call, in order.
    pub fn take_events(&mut self) -> Vec<CoordEvent> {
        std::mem::take(&mut self.events)
    }

    fn get_task(&mut self, now: Millis) -> Reply {
        if self.done() {
            return Reply::Exit;
        }
        let maps_done = self.maps.iter().all(is_done);
        let reissue_after = self.reissue_after;
        let (tasks, make): (&mut Vec<TaskState>, fn(usize) -> TaskId) = if maps_done {
            (&mut self.reduces, TaskId::Reduce)
        } else {
            (&mut self.maps, TaskId::Map)
        };
        let pick = tasks
            .iter()
            .position(|t| *t == TaskState::Idle)
            .map(|i| (i, false))
            .or_else(|| {
                tasks
                    .iter()
                    .position(|t| {
                        matches!(t, TaskState::Running { since, .. }
                            if now.saturating_sub(*since) >= reissue_after)
                    })
                    .map(|i| (i, true))
            });
        let Some((i, reissue)) = pick else {
            return Reply::Wait;
        };
        let attempt = self.next_attempt;
        self.next_attempt += 1;
        tasks[i] = TaskState::Running {
            since: now,
            attempt,
        };
        let task = make(i);
        self.attempts.insert(attempt, task);
        self.events.push(CoordEvent::Assigned {
            task,
            attempt,
            reissue,
        });
        Reply::Task(Assignment {
            task,
            attempt,
            file: match task {
                TaskId::Map(x) => Some(self.files[x].clone()),
                TaskId::Reduce(_) => None,
            },
            n_map: self.files.len(),
            n_reduce: self.n_reduce,
        })
    }

    fn report(&mut self, task: TaskId, attempt: u64, digest: u64) {
        if self.attempts.get(&attempt) != Some(&task) {
            self.events.push(CoordEvent::Unknown { task, attempt });
            return;
        }
        let was_done = self.done();
        let state = match task {
            TaskId::Map(x) => &mut self.maps[x],
            TaskId::Reduce(y) => &mut self.reduces[y],
        };
        match *state {
            TaskState::Done { digest: first, .. } if first == digest => {
                self.events.push(CoordEvent::Duplicate { task, attempt });
            }
            TaskState::Done { digest: first, .. } => {
                self.events.push(CoordEvent::Conflict {
                    task,
                    first,
                    second: digest,
                });
            }
            TaskState::Idle | TaskState::Running { .. } => {
                *state = TaskState::Done { digest };
                self.events.push(CoordEvent::Completed {
                    task,
                    attempt,
                    digest,
                });
                if !was_done && self.done() {
                    self.events.push(CoordEvent::JobDone);
                }
            }
        }
    }
}

fn is_done(t: &TaskState) -> bool {
    matches!(t, TaskState::Done { .. })
}
