//! Named timers, a process's own exit, and the public effects a driver carries out.

use sim::{CallId, Ctx, Effect, HostId, NetConfig, Noted, Persister, Process, Sim, TimerName};

/// Notes which timer fired and when; arms the timers it is told to at start.
struct Clocks {
    arm: Vec<(TimerName, u64)>,
    exit_on: Option<TimerName>,
}

impl Process for Clocks {
    type Msg = u64;
    type Note = (String, u64);
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, (String, u64)>) {
        for &(name, at) in &self.arm {
            if name.is_empty() {
                ctx.set_timer(at);
            } else {
                ctx.set_named_timer(name, at);
            }
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64, (String, u64)>) {
        let now = ctx.now();
        ctx.note(("default".into(), now));
    }
    fn on_named_timer(&mut self, ctx: &mut Ctx<'_, u64, (String, u64)>, name: TimerName) {
        let now = ctx.now();
        ctx.note((name.into(), now));
        if name == "poll" {
            ctx.set_named_timer("poll", now + 100);
        }
        if self.exit_on == Some(name) {
            ctx.exit();
            // Asked for after the exit: must not happen.
            ctx.set_named_timer("after-exit", now + 1);
        }
    }
    fn on_request(&mut self, ctx: &mut Ctx<'_, u64, (String, u64)>, _: HostId, c: CallId, x: u64) {
        ctx.reply(c, x);
    }
    fn on_reply(
        &mut self,
        _: &mut Ctx<'_, u64, (String, u64)>,
        _: HostId,
        _: CallId,
        _: Option<u64>,
    ) {
    }
}

fn fired(sim: &mut Sim<Clocks>, until: u64) -> Vec<(String, u64)> {
    sim.run_until(until);
    sim.take_notes().into_iter().map(|n| n.note).collect()
}

#[test]
fn named_timers_are_independent_of_each_other_and_of_the_default_one() {
    let mut sim = Sim::new(1, NetConfig::default());
    let h = sim.add_host();
    sim.start(h, |_| Clocks {
        arm: vec![("", 250), ("poll", 100), ("retry", 150)],
        exit_on: None,
    });
    let got = fired(&mut sim, 320);
    let want: Vec<(String, u64)> = [
        ("poll", 100),
        ("retry", 150),
        ("poll", 200),
        ("default", 250),
        ("poll", 300),
    ]
    .iter()
    .map(|&(n, t)| (n.to_string(), t))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn resetting_or_cancelling_a_named_timer_replaces_its_earlier_setting() {
    let mut sim = Sim::new(1, NetConfig::default());
    let h = sim.add_host();
    sim.start(h, |_| Clocks {
        arm: vec![("retry", 100), ("other", 120)],
        exit_on: None,
    });
    sim.with_host(h, |_, ctx| {
        ctx.set_named_timer("retry", 500);
        ctx.cancel_timer("other");
    });
    assert_eq!(fired(&mut sim, 1000), vec![("retry".to_string(), 500)]);
}

#[test]
fn a_process_that_exits_is_down_and_its_later_effects_do_not_happen() {
    let mut sim = Sim::new(1, NetConfig::default());
    let h = sim.add_host();
    sim.start(h, |_| Clocks {
        arm: vec![("done", 40), ("poll", 100)],
        exit_on: Some("done"),
    });
    sim.with_host(h, |_, ctx| ctx.persister().save(b"state".to_vec(), None));
    assert_eq!(fired(&mut sim, 1000), vec![("done".to_string(), 40)]);
    assert!(!sim.is_alive(h));
    assert!(sim.has_exited(h));
    assert_eq!(
        sim.persister(h).raft_state(),
        b"state",
        "an exit keeps what was persisted"
    );
    // A crash is not an exit, and a restart clears the mark.
    sim.start(h, |_| Clocks {
        arm: vec![],
        exit_on: None,
    });
    assert!(!sim.has_exited(h));
    sim.crash(h);
    assert!(!sim.has_exited(h));
}

#[test]
fn another_driver_can_run_a_step_through_a_ctx_of_its_own() {
    let mut effects = Vec::new();
    let mut notes: Vec<Noted<(String, u64)>> = Vec::new();
    let mut persister = Persister::default();
    let mut next_call = 7;
    let mut p = Clocks {
        arm: vec![("poll", 30)],
        exit_on: Some("poll"),
    };
    let mut ctx = Ctx::new(
        10,
        2,
        &mut effects,
        &mut notes,
        &mut persister,
        &mut next_call,
    );
    p.on_start(&mut ctx);
    let call = ctx.call(0, 5);
    p.on_named_timer(&mut ctx, "poll");
    assert_eq!(call, CallId(7));
    assert_eq!(
        effects,
        vec![
            Effect::Timer {
                name: "poll",
                at: 30
            },
            Effect::Call {
                to: 0,
                call: CallId(7),
                msg: 5
            },
            Effect::Timer {
                name: "poll",
                at: 110
            },
            Effect::Exit,
            Effect::Timer {
                name: "after-exit",
                at: 11
            },
        ]
    );
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].host, notes[0].time), (2, 10));
    assert_eq!(next_call, 8);
}
