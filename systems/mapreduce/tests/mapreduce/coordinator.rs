use mapreduce::{Assignment, CoordEvent, Coordinator, Reply, Request, TaskId, REISSUE_AFTER};

fn files(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("in-{i}.txt")).collect()
}

fn task(reply: Reply) -> Assignment {
    match reply {
        Reply::Task(a) => a,
        other => panic!("expected a task, got {other:?}"),
    }
}

fn report(c: &mut Coordinator, a: &Assignment, digest: u64) -> Reply {
    c.handle(
        0,
        Request::Report {
            task: a.task,
            attempt: a.attempt,
            digest,
        },
    )
}

#[test]
fn maps_go_out_in_order_and_reduces_only_after_every_map_is_done() {
    let mut c = Coordinator::new(files(2), 3);
    let m0 = task(c.handle(0, Request::GetTask));
    let m1 = task(c.handle(0, Request::GetTask));
    assert_eq!(
        (m0.task, m0.file.as_deref()),
        (TaskId::Map(0), Some("in-0.txt"))
    );
    assert_eq!((m1.task, m1.n_map, m1.n_reduce), (TaskId::Map(1), 2, 3));
    assert_ne!(m0.attempt, m1.attempt);
    // Both maps are running: no reduce yet, however often a worker asks.
    assert_eq!(c.handle(5, Request::GetTask), Reply::Wait);
    assert_eq!(report(&mut c, &m0, 7), Reply::Ack);
    assert_eq!(c.handle(6, Request::GetTask), Reply::Wait);
    report(&mut c, &m1, 8);
    let r = task(c.handle(7, Request::GetTask));
    assert_eq!((r.task, r.file), (TaskId::Reduce(0), None));
    assert!(!c.done());
}

#[test]
fn a_task_is_reissued_after_ten_seconds_and_not_before() {
    let mut c = Coordinator::new(files(1), 1);
    let first = task(c.handle(1000, Request::GetTask));
    assert_eq!(
        c.handle(1000 + REISSUE_AFTER - 1, Request::GetTask),
        Reply::Wait
    );
    let again = task(c.handle(1000 + REISSUE_AFTER, Request::GetTask));
    assert_eq!(again.task, TaskId::Map(0));
    assert!(again.attempt > first.attempt);
    let events = c.take_events();
    assert_eq!(
        events,
        vec![
            CoordEvent::Assigned {
                task: TaskId::Map(0),
                attempt: first.attempt,
                reissue: false
            },
            CoordEvent::Assigned {
                task: TaskId::Map(0),
                attempt: again.attempt,
                reissue: true
            },
        ]
    );
    // The slow original finishes first: the task is done, and the backup's report is a duplicate.
    report(&mut c, &first, 42);
    report(&mut c, &again, 42);
    assert_eq!(
        c.take_events(),
        vec![
            CoordEvent::Completed {
                task: TaskId::Map(0),
                attempt: first.attempt,
                digest: 42
            },
            CoordEvent::Duplicate {
                task: TaskId::Map(0),
                attempt: again.attempt
            },
        ]
    );
}

#[test]
fn a_second_report_with_other_output_is_a_conflict() {
    let mut c = Coordinator::new(files(1), 1);
    let a = task(c.handle(0, Request::GetTask));
    let b = task(c.handle(REISSUE_AFTER, Request::GetTask));
    report(&mut c, &a, 1);
    report(&mut c, &b, 2);
    assert_eq!(
        c.take_events().last(),
        Some(&CoordEvent::Conflict {
            task: TaskId::Map(0),
            first: 1,
            second: 2
        })
    );
}

#[test]
fn reports_of_attempts_never_handed_out_are_unknown_and_change_nothing() {
    let mut c = Coordinator::new(files(1), 1);
    c.handle(
        0,
        Request::Report {
            task: TaskId::Map(0),
            attempt: 99,
            digest: 0,
        },
    );
    assert_eq!(
        c.take_events(),
        vec![CoordEvent::Unknown {
            task: TaskId::Map(0),
            attempt: 99
        }]
    );
    assert_eq!(task(c.handle(0, Request::GetTask)).task, TaskId::Map(0));
}

#[test]
fn once_the_last_reduce_is_reported_the_job_is_done_and_workers_are_told_to_exit() {
    let mut c = Coordinator::new(files(1), 2);
    let m = task(c.handle(0, Request::GetTask));
    report(&mut c, &m, 0);
    let r0 = task(c.handle(0, Request::GetTask));
    let r1 = task(c.handle(0, Request::GetTask));
    report(&mut c, &r1, 0);
    assert!(!c.done());
    report(&mut c, &r0, 0);
    assert!(c.done());
    let events = c.take_events();
    assert_eq!(
        events.iter().filter(|e| **e == CoordEvent::JobDone).count(),
        1
    );
    assert_eq!(events.last(), Some(&CoordEvent::JobDone));
    assert_eq!(c.handle(0, Request::GetTask), Reply::Exit);
}
