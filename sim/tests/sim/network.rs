//! The simulator's labrpc semantics, checked with a toy process.

use sim::{CallId, Ctx, HostId, NetConfig, Noted, Process, Sim};

/// Answers `x` with `x + 1` (at once, or when told to if `defer`), remembers the last request
/// in its persister, and reports every call outcome as a note.
#[derive(Default)]
struct Toy {
    defer: bool,
    held: Vec<(CallId, u64)>,
}

type Note = (CallId, Option<u64>);

impl Process for Toy {
    type Msg = u64;
    type Note = Note;

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, u64, Note>) {}

    fn on_request(&mut self, ctx: &mut Ctx<'_, u64, Note>, _from: HostId, call: CallId, req: u64) {
        ctx.persister().save(req.to_le_bytes().to_vec(), None);
        if self.defer {
            self.held.push((call, req));
        } else {
            ctx.reply(call, req + 1);
        }
    }

    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, u64, Note>,
        _from: HostId,
        call: CallId,
        reply: Option<u64>,
    ) {
        ctx.note((call, reply));
    }
}

fn pair(config: NetConfig, seed: u64) -> Sim<Toy> {
    let mut sim = Sim::new(seed, config);
    let (a, b) = (sim.add_host(), sim.add_host());
    sim.start(a, |_| Toy::default());
    sim.start(b, |_| Toy::default());
    sim.set_link(a, b, true);
    sim.set_link(b, a, true);
    sim
}

fn call(sim: &mut Sim<Toy>, x: u64) -> CallId {
    sim.with_host(0, |_, ctx| ctx.call(1, x))
        .expect("host 0 is up")
}

fn run(sim: &mut Sim<Toy>) -> Vec<Noted<Note>> {
    while sim.step().is_some() {}
    sim.take_notes()
}

fn encoded(x: u64) -> u64 {
    postcard::to_allocvec(&x).unwrap().len() as u64
}

#[test]
fn reliable_call_is_answered_at_once_and_counted() {
    let mut sim = pair(NetConfig::default(), 1);
    let c = call(&mut sim, 41);
    let notes = run(&mut sim);
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].time, notes[0].note), (0, (c, Some(42))));
    let stats = sim.stats();
    assert_eq!((stats.rpcs, stats.per_host.clone()), (1, vec![0, 1]));
    assert_eq!(stats.bytes, encoded(41) + encoded(42));
    assert_eq!(sim.persister(1).raft_state(), 41u64.to_le_bytes());
}

#[test]
fn call_over_a_disabled_end_fails_later_and_is_counted_but_not_dispatched() {
    for (long_delays, max) in [(false, 100), (true, 7000)] {
        let mut sim = pair(
            NetConfig {
                long_delays,
                ..NetConfig::default()
            },
            2,
        );
        sim.set_link(0, 1, false);
        let mut longest = 0;
        for x in 0..200 {
            let t0 = sim.now();
            let c = call(&mut sim, x);
            for n in run(&mut sim) {
                assert_eq!(n.note, (c, None));
                longest = longest.max(n.time - t0);
            }
        }
        assert!(longest < max, "a failure took {longest} ms");
        assert!(
            longest > max / 2,
            "failures are suspiciously quick: {longest} ms"
        );
        let stats = sim.stats();
        assert_eq!((stats.rpcs, stats.per_host[1]), (200, 0));
    }
}

#[test]
fn unreliable_network_drops_some_requests_and_replies_and_delays_up_to_26_ms() {
    let mut sim = pair(
        NetConfig {
            reliable: false,
            ..NetConfig::default()
        },
        3,
    );
    let (mut ok, n) = (0, 2000);
    for x in 0..n {
        let t0 = sim.now();
        call(&mut sim, x);
        for note in run(&mut sim) {
            if note.note.1.is_some() {
                ok += 1;
                assert!(note.time - t0 <= 26, "a reply took {} ms", note.time - t0);
            }
        }
    }
    // 90% of requests arrive and 90% of their replies: about 81% succeed.
    assert!((1450..1800).contains(&ok), "{ok} of {n} calls succeeded");
    // Requests dropped on the way were not dispatched.
    assert!(sim.stats().per_host[1] < n && sim.stats().per_host[1] > ok);
}

#[test]
fn long_reordering_delays_most_replies_by_200_to_2200_ms() {
    let mut sim = pair(
        NetConfig {
            long_reordering: true,
            ..NetConfig::default()
        },
        4,
    );
    let mut late = 0;
    for x in 0..300 {
        let t0 = sim.now();
        call(&mut sim, x);
        for note in run(&mut sim) {
            let d = note.time - t0;
            assert!(d == 0 || (200..=2200).contains(&d), "delay {d}");
            if d > 0 {
                late += 1;
            }
        }
    }
    // Probability 600/900.
    assert!(
        (160..240).contains(&late),
        "{late} of 300 replies were reordered"
    );
}

#[test]
fn crash_fails_outstanding_calls_at_the_next_poll_and_keeps_the_persister() {
    let mut sim = pair(NetConfig::default(), 5);
    sim.start(1, |_| Toy {
        defer: true,
        held: Vec::new(),
    });
    let c = call(&mut sim, 9);
    sim.step(); // deliver: the callee holds the call
    sim.run_until(30);
    sim.crash(1);
    let notes = run(&mut sim);
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].time, notes[0].note), (100, (c, None)));
    assert!(!sim.is_alive(1));
    // What the dead instance saved survives, and the next incarnation sees it.
    let mut seen = Vec::new();
    sim.start(1, |boot| {
        seen = boot.persister.raft_state().to_vec();
        assert_eq!(boot.incarnation, 3, "third start of host 1");
        Toy::default()
    });
    assert_eq!(seen, 9u64.to_le_bytes());
}

#[test]
fn late_reply_after_the_end_was_disabled_is_discarded() {
    let mut sim = pair(NetConfig::default(), 6);
    sim.start(1, |_| Toy {
        defer: true,
        held: Vec::new(),
    });
    let c = call(&mut sim, 5);
    sim.step();
    sim.run_until(250);
    sim.set_link(0, 1, false);
    // The callee answers after the caller's end was disabled: the call has already failed.
    sim.with_host(1, |p, ctx| {
        for (call, x) in p.held.drain(..) {
            ctx.reply(call, x + 1);
        }
    });
    let notes = run(&mut sim);
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].time, notes[0].note), (300, (c, None)));
}

#[test]
fn a_crashed_caller_gets_nothing_and_its_restart_starts_clean() {
    let mut sim = pair(
        NetConfig {
            long_reordering: true,
            ..NetConfig::default()
        },
        7,
    );
    for x in 0..20 {
        call(&mut sim, x);
    }
    sim.crash(0);
    sim.start(0, |_| Toy::default());
    assert!(
        run(&mut sim).is_empty(),
        "replies to a dead incarnation must be discarded"
    );
}

#[test]
fn same_seed_same_schedule() {
    let schedule = |seed| {
        let mut sim = pair(
            NetConfig {
                reliable: false,
                long_reordering: true,
                long_delays: true,
            },
            seed,
        );
        for x in 0..100 {
            call(&mut sim, x);
        }
        run(&mut sim)
            .into_iter()
            .map(|n| (n.time, n.note))
            .collect::<Vec<_>>()
    };
    assert_eq!(schedule(8), schedule(8));
    assert_ne!(schedule(8), schedule(9));
}
