//! Virtual-time tasks: the "goroutines" of the Go testers.
//!
//! Test scripts in the labs sleep, poll and run several client goroutines at once. Here a script is
//! an `async` block whose only suspension point is [`Executor::sleep`]; [`Executor::run`]
//! interleaves those tasks with the events of a [`World`] (normally a [`super::Sim`] wrapped by a
//! cluster that checks invariants) in virtual time:
//! - the earliest thing happens next: a world event, or a task whose sleep ends;
//! - at equal times, world events run before tasks wake, and tasks wake in the order they slept,
//!   so a run is a pure function of its seed;
//! - a task that never sleeps runs to completion before anything else happens (like a Go test
//!   that does not yield), so calls such as `Start` issued back to back see no messages between them.
//!
//! Tasks share state through `Rc<RefCell<..>>`; never hold a borrow across an `.await`.
//! The run ends when the main future completes (other tasks are dropped, like goroutines at the end
//! of a Go test), when the world reports [`World::halted`] (a failure), or at a time limit.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::Time;

/// What the executor drives between task wake-ups.
pub trait World {
    /// Time of the next pending event, if any.
    fn next_event_time(&self) -> Option<Time>;
    /// Runs exactly one event (the one at `next_event_time`).
    fn step(&self);
    /// Moves the clock to `t`; no event is due before `t`.
    fn advance_to(&self, t: Time);
    /// True once the run must stop (e.g. an invariant failed).
    fn halted(&self) -> bool;
}

/// How [`Executor::run`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunEnd<T> {
    /// The main future finished with this value.
    Done(T),
    /// [`World::halted`] became true.
    Halted,
    /// The next thing to happen was later than the time limit.
    TimedOut,
    /// Nothing left to happen and the main future is still waiting.
    Stuck,
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

const MAIN: u64 = 0;

struct Inner {
    now: Cell<Time>,
    seq: Cell<u64>,
    next_task: Cell<u64>,
    current: Cell<u64>,
    timers: RefCell<BinaryHeap<Reverse<(Time, u64, u64)>>>,
    tasks: RefCell<BTreeMap<u64, Task>>,
}

/// A single-threaded virtual-time executor. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Executor {
    inner: Rc<Inner>,
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

struct NoopWaker;
impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

impl Executor {
    pub fn new() -> Self {
        Executor {
            inner: Rc::new(Inner {
                now: Cell::new(0),
                seq: Cell::new(0),
                next_task: Cell::new(MAIN + 1),
                current: Cell::new(MAIN),
                timers: RefCell::new(BinaryHeap::new()),
                tasks: RefCell::new(BTreeMap::new()),
            }),
        }
    }

    /// The executor's view of virtual time (the time of the last event or wake-up).
    pub fn now(&self) -> Time {
        self.inner.now.get()
    }

    fn wake_at(&self, at: Time, task: u64) {
        let seq = self.inner.seq.get() + 1;
        self.inner.seq.set(seq);
        self.inner
            .timers
            .borrow_mut()
            .push(Reverse((at, seq, task)));
    }

    /// Suspends the current task for `ms` virtual milliseconds (0 returns at once).
    pub fn sleep(&self, ms: Time) -> Sleep {
        Sleep {
            exec: self.clone(),
            ms,
            until: None,
        }
    }

    /// Starts a task that first runs at the current time, after the running task yields.
    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        let id = self.inner.next_task.get();
        self.inner.next_task.set(id + 1);
        self.inner.tasks.borrow_mut().insert(id, Box::pin(fut));
        self.wake_at(self.now(), id);
    }

    /// Runs `main` and the spawned tasks against `world` until `main` finishes, the world halts,
    /// nothing can happen any more, or the next thing would happen after `limit`.
    ///
    /// Tasks still pending at the end are dropped here: they usually hold an `Rc` of the world
    /// that owns this executor, and would otherwise keep it alive forever.
    pub fn run<W: World, T>(
        &self,
        world: &W,
        main: impl Future<Output = T>,
        limit: Time,
    ) -> RunEnd<T> {
        let end = self.run_inner(world, main, limit);
        let leftover = std::mem::take(&mut *self.inner.tasks.borrow_mut());
        drop(leftover);
        self.inner.timers.borrow_mut().clear();
        end
    }

    fn run_inner<W: World, T>(
        &self,
        world: &W,
        main: impl Future<Output = T>,
        limit: Time,
    ) -> RunEnd<T> {
        let waker = Waker::from(Arc::new(NoopWaker));
        let mut cx = Context::from_waker(&waker);
        let mut main = pin!(main);
        self.inner.current.set(MAIN);
        if let Poll::Ready(v) = main.as_mut().poll(&mut cx) {
            return RunEnd::Done(v);
        }
        loop {
            if world.halted() {
                return RunEnd::Halted;
            }
            let next_event = world.next_event_time();
            let next_timer = self.inner.timers.borrow().peek().map(|r| r.0 .0);
            let take_event = match (next_event, next_timer) {
                (None, None) => return RunEnd::Stuck,
                (Some(e), Some(t)) => e <= t,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if take_event {
                let e = next_event.expect("checked");
                if e > limit {
                    return RunEnd::TimedOut;
                }
                world.step();
                self.inner.now.set(self.now().max(e));
            } else {
                let t = next_timer.expect("checked");
                if t > limit {
                    return RunEnd::TimedOut;
                }
                let Reverse((at, _, task)) = self.inner.timers.borrow_mut().pop().expect("peeked");
                world.advance_to(at);
                self.inner.now.set(self.now().max(at));
                self.inner.current.set(task);
                if task == MAIN {
                    if let Poll::Ready(v) = main.as_mut().poll(&mut cx) {
                        return RunEnd::Done(v);
                    }
                } else {
                    // Take the task out while it runs so that it may spawn others.
                    let fut = self.inner.tasks.borrow_mut().remove(&task);
                    if let Some(mut fut) = fut {
                        if fut.as_mut().poll(&mut cx).is_pending() {
                            self.inner.tasks.borrow_mut().insert(task, fut);
                        }
                    }
                }
            }
        }
    }
}

/// The future returned by [`Executor::sleep`].
pub struct Sleep {
    exec: Executor,
    ms: Time,
    until: Option<Time>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let now = self.exec.now();
        match self.until {
            None if self.ms == 0 => Poll::Ready(()),
            None => {
                let until = now + self.ms;
                self.until = Some(until);
                let task = self.exec.inner.current.get();
                self.exec.wake_at(until, task);
                Poll::Pending
            }
            Some(until) if now >= until => Poll::Ready(()),
            Some(_) => Poll::Pending,
        }
    }
}
