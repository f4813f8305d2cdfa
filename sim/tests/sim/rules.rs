//! Network rules on top of labrpc's semantics: drops and delays on chosen, one-way links.

use sim::{CallId, Ctx, HostId, Links, NetConfig, Process, Rule, Sim};

/// Echoes requests; notes each reply with the time it came back.
struct Echo;

impl Process for Echo {
    type Msg = u64;
    type Note = (u64, Option<u64>);
    fn on_timer(&mut self, _: &mut Ctx<'_, u64, Self::Note>) {}
    fn on_request(&mut self, ctx: &mut Ctx<'_, u64, Self::Note>, _: HostId, c: CallId, x: u64) {
        ctx.reply(c, x);
    }
    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, u64, Self::Note>,
        _: HostId,
        _: CallId,
        r: Option<u64>,
    ) {
        let now = ctx.now();
        ctx.note((now, r));
    }
}

fn pair(seed: u64) -> (Sim<Echo>, HostId, HostId) {
    let mut sim = Sim::new(seed, NetConfig::default());
    let (a, b) = (sim.add_host(), sim.add_host());
    sim.start(a, |_| Echo);
    sim.start(b, |_| Echo);
    for (x, y) in [(a, b), (b, a)] {
        sim.set_link(x, y, true);
    }
    (sim, a, b)
}

/// Sends `n` calls from `from` to `to` and returns their outcomes.
fn calls(sim: &mut Sim<Echo>, from: HostId, to: HostId, n: u64) -> Vec<(u64, Option<u64>)> {
    for x in 0..n {
        sim.with_host(from, |_, ctx| ctx.call(to, x));
    }
    while sim.step().is_some() {}
    sim.take_notes().into_iter().map(|n| n.note).collect()
}

#[test]
fn a_drop_rule_on_one_direction_fails_only_the_calls_that_cross_it() {
    let (mut sim, a, b) = pair(1);
    sim.add_rule(Rule::Drop {
        links: Links::Between(a, b),
        per_mille: 1000,
    });
    assert!(calls(&mut sim, a, b, 5).iter().all(|(_, r)| r.is_none()));
    // b -> a is the other direction: its requests pass, but each reply crosses a -> b and is lost.
    assert!(calls(&mut sim, b, a, 5).iter().all(|(_, r)| r.is_none()));
    sim.clear_rules(Some(Links::Between(a, b)));
    assert!(calls(&mut sim, a, b, 5).iter().all(|(_, r)| r.is_some()));
}

#[test]
fn a_partial_drop_rule_drops_about_its_share() {
    let (mut sim, a, b) = pair(2);
    sim.add_rule(Rule::Drop {
        links: Links::To(b),
        per_mille: 300,
    });
    let out = calls(&mut sim, a, b, 2000);
    let failed = out.iter().filter(|(_, r)| r.is_none()).count();
    assert!((500..700).contains(&failed), "{failed} of 2000 dropped");
}

#[test]
fn a_delay_rule_holds_each_message_within_its_range_and_reorders_them() {
    let (mut sim, a, b) = pair(3);
    sim.add_rule(Rule::Delay {
        links: Links::Any,
        min_ms: 10,
        max_ms: 50,
    });
    let out = calls(&mut sim, a, b, 200);
    assert_eq!(out.len(), 200);
    // Request and reply are each delayed 10-50 ms on the reliable network.
    assert!(out
        .iter()
        .all(|&(t, r)| r.is_some() && (20..=100).contains(&t)));
    let order: Vec<u64> = out.iter().map(|(_, r)| r.unwrap()).collect();
    assert!(
        order.windows(2).any(|w| w[0] > w[1]),
        "random delays reorder the replies"
    );
}

#[test]
fn rules_replay_exactly_by_seed() {
    let run = |seed| {
        let (mut sim, a, b) = pair(seed);
        sim.add_rule(Rule::Drop {
            links: Links::Any,
            per_mille: 200,
        });
        sim.add_rule(Rule::Delay {
            links: Links::From(a),
            min_ms: 0,
            max_ms: 30,
        });
        calls(&mut sim, a, b, 300)
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

/// Counts the requests it handles (one note per request: `(time, value)`), and answers them.
struct Counter;

impl Process for Counter {
    type Msg = u64;
    type Note = (u64, u64, bool);
    fn on_timer(&mut self, _: &mut Ctx<'_, u64, Self::Note>) {}
    fn on_request(&mut self, ctx: &mut Ctx<'_, u64, Self::Note>, _: HostId, c: CallId, x: u64) {
        let now = ctx.now();
        // `false`: a request handled.
        ctx.note((now, x, false));
        ctx.reply(c, x);
    }
    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, u64, Self::Note>,
        _: HostId,
        _: CallId,
        r: Option<u64>,
    ) {
        // `true`: a call's one outcome.
        let now = ctx.now();
        ctx.note((now, r.unwrap_or(u64::MAX), true));
    }
}

fn duplicated(seed: u64, per_mille: u32, links: Links) -> (Vec<(u64, u64, bool)>, HostId, HostId) {
    let mut sim = Sim::new(seed, NetConfig::default());
    let (a, b) = (sim.add_host(), sim.add_host());
    sim.start(a, |_| Counter);
    sim.start(b, |_| Counter);
    sim.set_link(a, b, true);
    sim.set_link(b, a, true);
    sim.add_rule(Rule::Duplicate {
        links,
        per_mille,
        max_ms: 40,
    });
    for x in 0..100 {
        sim.with_host(a, |_, ctx| ctx.call(b, x));
    }
    while sim.step().is_some() {}
    (sim.take_notes().into_iter().map(|n| n.note).collect(), a, b)
}

#[test]
fn a_duplicate_rule_delivers_requests_twice_but_each_call_has_one_outcome() {
    let (notes, _, _) = duplicated(4, 1000, Links::Any);
    let handled: Vec<u64> = notes.iter().filter(|n| !n.2).map(|n| n.1).collect();
    let outcomes: Vec<u64> = notes.iter().filter(|n| n.2).map(|n| n.1).collect();
    // Every request handled exactly twice, every call answered exactly once, by the original.
    for x in 0..100 {
        assert_eq!(
            handled.iter().filter(|&&h| h == x).count(),
            2,
            "request {x}"
        );
        assert_eq!(outcomes.iter().filter(|&&o| o == x).count(), 1, "call {x}");
    }
    assert_eq!(outcomes.len(), 100);
    // Copies come up to 40 ms after their original.
    assert!(notes.iter().all(|n| n.0 <= 40));
    assert!(
        notes.iter().any(|n| !n.2 && n.0 > 0),
        "some copy came later"
    );
}

#[test]
fn a_duplicate_rule_copies_about_its_share_on_its_links_only() {
    let (notes, _, _) = duplicated(5, 300, Links::To(1));
    let handled = notes.iter().filter(|n| !n.2).count();
    assert!(
        (115..=145).contains(&handled),
        "{handled} handled of 100 requests"
    );
    // Links the rule does not match are left alone.
    let (notes, _, _) = duplicated(5, 1000, Links::Between(1, 0));
    assert_eq!(notes.iter().filter(|n| !n.2).count(), 100);
}

#[test]
fn duplicates_replay_exactly_by_seed() {
    assert_eq!(
        duplicated(6, 500, Links::Any).0,
        duplicated(6, 500, Links::Any).0
    );
    assert_ne!(
        duplicated(6, 500, Links::Any).0,
        duplicated(7, 500, Links::Any).0
    );
}
