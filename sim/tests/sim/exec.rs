//! The virtual-time executor that runs test scripts and their "goroutines".

use std::cell::RefCell;
use std::rc::Rc;

use sim::exec::{Executor, RunEnd, World};
use sim::Time;

/// A world whose events are just times; it logs what ran, and halts when told to.
#[derive(Default)]
struct Events {
    pending: RefCell<Vec<Time>>,
    log: RefCell<Vec<String>>,
    halt: RefCell<bool>,
}

impl World for Events {
    fn next_event_time(&self) -> Option<Time> {
        self.pending.borrow().iter().min().copied()
    }
    fn step(&self) {
        let mut p = self.pending.borrow_mut();
        let i = (0..p.len()).min_by_key(|&i| p[i]).unwrap();
        let t = p.remove(i);
        self.log.borrow_mut().push(format!("event@{t}"));
    }
    fn advance_to(&self, _t: Time) {}
    fn halted(&self) -> bool {
        *self.halt.borrow()
    }
}

#[test]
fn tasks_and_events_interleave_in_time_order_events_first_on_ties() {
    let exec = Executor::new();
    let world = Rc::new(Events::default());
    world.pending.borrow_mut().extend([10, 30]);
    let (e, w) = (exec.clone(), world.clone());
    exec.spawn(async move {
        w.log.borrow_mut().push(format!("task@{}", e.now()));
        e.sleep(10).await;
        w.log.borrow_mut().push(format!("task@{}", e.now()));
    });
    let (e, w) = (exec.clone(), world.clone());
    let end = exec.run(
        &*world,
        async move {
            e.sleep(25).await;
            w.log.borrow_mut().push(format!("main@{}", e.now()));
            e.sleep(0).await; // returns at once
            7
        },
        1000,
    );
    assert_eq!(end, RunEnd::Done(7));
    assert_eq!(
        *world.log.borrow(),
        ["task@0", "event@10", "task@10", "main@25"]
    );
    assert_eq!(exec.now(), 25);
}

#[test]
fn a_halted_world_stops_the_run_and_drops_the_pending_tasks() {
    let exec = Executor::new();
    let world = Rc::new(Events::default());
    let held = Rc::new(());
    let (e, h) = (exec.clone(), held.clone());
    exec.spawn(async move {
        let _keep = h;
        e.sleep(1_000_000).await;
    });
    let (e, w) = (exec.clone(), world.clone());
    let end = exec.run(
        &*world,
        async move {
            e.sleep(5).await;
            *w.halt.borrow_mut() = true;
            e.sleep(5).await;
        },
        1000,
    );
    assert_eq!(end, RunEnd::Halted);
    assert_eq!(Rc::strong_count(&held), 1, "the sleeping task was dropped");
}

#[test]
fn time_limit_and_stuck_runs_end_the_run() {
    let exec = Executor::new();
    let world = Events::default();
    let e = exec.clone();
    assert_eq!(
        exec.run(&world, async move { e.sleep(2000).await }, 1000),
        RunEnd::TimedOut
    );
    let exec = Executor::new();
    assert_eq!(
        exec.run(&world, std::future::pending::<()>(), 1000),
        RunEnd::Stuck
    );
}
