//! Raft's liveness checks (`labs::raft::Liveness`) on hand-made traces: a majority that can talk
//! and has no leader for longer than the lab's bound fails, as do endless split elections; a
//! leader in the window, a majority that cannot talk, or no majority at all never fail. The
//! unmodified catalogs passing many seeds with the check on is what `quill test` sweeps show.

use labs::failure::FailureKind;
use labs::raft::{Liveness, Observed, LEADER_BOUND, MAX_LEADERLESS_ELECTIONS};
use sim::{CallId, Ctx, HostId, Links, NetConfig, Process, Rule, Sim};

/// A host that does nothing: the checks read only the simulator's fault state.
struct Idle;

impl Process for Idle {
    type Msg = ();
    type Note = ();
    fn on_timer(&mut self, _: &mut Ctx<'_, (), ()>) {}
    fn on_request(&mut self, _: &mut Ctx<'_, (), ()>, _: HostId, _: CallId, _: ()) {}
    fn on_reply(&mut self, _: &mut Ctx<'_, (), ()>, _: HostId, _: CallId, _: Option<()>) {}
}

/// `n` live hosts, every link up, a reliable network.
fn cluster(n: usize) -> Sim<Idle> {
    let mut sim = Sim::new(1, NetConfig::default());
    sim.set_reliable(true);
    for _ in 0..n {
        sim.add_host();
    }
    for h in 0..n {
        sim.start(h, |_| Idle);
    }
    for a in 0..n {
        for b in 0..n {
            if a != b {
                sim.set_link(a, b, true);
            }
        }
    }
    sim
}

fn follower(term: u64, election: bool) -> Observed {
    Observed {
        term,
        leader: false,
        new_leader: None,
        election,
    }
}

fn leader(term: u64) -> Observed {
    Observed {
        term,
        leader: true,
        new_leader: Some(term),
        election: false,
    }
}

/// The liveness failure's message, asserting the kind.
fn liveness_message(r: Result<(), labs::failure::Failure>) -> String {
    let f = r.expect_err("the check should fail");
    assert_eq!(f.kind(), FailureKind::Liveness, "{f}");
    f.to_string()
}

#[test]
fn a_majority_that_can_talk_without_a_leader_for_the_bound_fails() {
    let sim = cluster(3);
    let mut l = Liveness::new(vec![0, 1, 2]);
    l.check(&sim, 0, 100).unwrap();
    for h in 0..3 {
        l.after_step(h, 200, &follower(1, h == 0));
        l.check(&sim, 0, 200).unwrap();
    }
    // Exactly the bound is still within it.
    l.check(&sim, 0, 100 + LEADER_BOUND).unwrap();
    let msg = liveness_message(l.check(&sim, 0, 101 + LEADER_BOUND));
    assert!(msg.contains("no leader within 5000 ms"), "{msg}");
    assert!(msg.contains("servers h0, h1, h2"), "{msg}");
    assert!(msg.contains("t1 by h0 at 200 ms"), "{msg}");
}

#[test]
fn a_leader_the_majority_accepts_restarts_the_window() {
    let sim = cluster(3);
    let mut l = Liveness::new(vec![0, 1, 2]);
    l.check(&sim, 0, 0).unwrap();
    l.after_step(0, 1000, &leader(2));
    l.after_step(1, 1000, &follower(2, false));
    l.check(&sim, 0, 1000 + 2 * LEADER_BOUND).unwrap();
    // A server of the majority moves to a higher term: the old leader is no longer accepted.
    let t = 1000 + 2 * LEADER_BOUND;
    l.after_step(2, t, &follower(3, true));
    l.check(&sim, 0, t + LEADER_BOUND).unwrap();
    let msg = liveness_message(l.check(&sim, 0, t + LEADER_BOUND + 1));
    assert!(msg.contains(&format!("from {t} to")), "{msg}");
}

#[test]
fn elections_that_split_forever_fail_before_the_bound() {
    let sim = cluster(5);
    let mut l = Liveness::new(vec![0, 1, 2, 3, 4]);
    l.check(&sim, 0, 0).unwrap();
    for k in 0..MAX_LEADERLESS_ELECTIONS as u64 {
        l.after_step((k % 5) as usize, 300 * (k + 1), &follower(k + 1, true));
        l.check(&sim, 0, 300 * (k + 1)).unwrap();
    }
    let t = 300 * (MAX_LEADERLESS_ELECTIONS as u64 + 1);
    assert!(t < LEADER_BOUND);
    l.after_step(0, t, &follower(MAX_LEADERLESS_ELECTIONS as u64 + 1, true));
    let msg = liveness_message(l.check(&sim, 0, t));
    assert!(msg.contains("elections split forever"), "{msg}");
}

#[test]
fn no_majority_that_can_talk_never_fails() {
    let late = 10 * LEADER_BOUND;
    // Two of three servers down.
    let mut sim = cluster(3);
    sim.crash(1);
    sim.crash(2);
    let mut l = Liveness::new(vec![0, 1, 2]);
    l.check(&sim, 0, 0).unwrap();
    l.check(&sim, 0, late).unwrap();

    // A server that hears the majority but cannot answer it (one-way cuts): not cut cleanly.
    let mut sim = cluster(3);
    sim.set_link(2, 0, false);
    sim.set_link(2, 1, false);
    let mut l = Liveness::new(vec![0, 1, 2]);
    l.check(&sim, 0, 0).unwrap();
    l.check(&sim, 0, late).unwrap();

    // The unreliable network, and a drop rule on one link of the majority.
    let mut sim = cluster(3);
    sim.set_reliable(false);
    let mut l = Liveness::new(vec![0, 1, 2]);
    l.check(&sim, 0, 0).unwrap();
    l.check(&sim, 0, late).unwrap();
    let mut sim = cluster(3);
    sim.add_rule(Rule::Drop {
        links: Links::Between(0, 1),
        per_mille: 100,
    });
    sim.crash(2);
    let mut l = Liveness::new(vec![0, 1, 2]);
    l.check(&sim, 0, 0).unwrap();
    l.check(&sim, 0, late).unwrap();
}

#[test]
fn a_majority_cut_cleanly_from_the_rest_is_held_to_the_bound() {
    // Server 2 is disconnected both ways: 0 and 1 are a majority that can talk.
    let mut sim = cluster(3);
    for h in [0, 1] {
        sim.set_link(h, 2, false);
        sim.set_link(2, h, false);
    }
    let mut l = Liveness::new(vec![0, 1, 2]);
    l.check(&sim, 0, 0).unwrap();
    let msg = liveness_message(l.check(&sim, 0, LEADER_BOUND + 1));
    assert!(msg.contains("servers h0, h1 "), "{msg}");
    // A new fault state (generation) that changes the majority opens a new window.
    sim.set_link(0, 2, true);
    sim.set_link(2, 0, true);
    sim.set_link(1, 2, true);
    sim.set_link(2, 1, true);
    let mut l = Liveness::new(vec![0, 1, 2]);
    l.check(&sim, 0, 0).unwrap();
    sim.crash(0);
    l.check(&sim, 1, LEADER_BOUND).unwrap();
    l.check(&sim, 1, 2 * LEADER_BOUND).unwrap();
    let msg = liveness_message(l.check(&sim, 1, 2 * LEADER_BOUND + 1));
    assert!(msg.contains("servers h1, h2 "), "{msg}");
}
