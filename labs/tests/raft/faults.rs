//! Faults as data, on a real Raft cluster: what a one-way cut does that a disconnect cannot.

use labs::fault::Fault;
use labs::raft::{Cluster, ELECTION_TIMEOUT};
use labs::runner::RunOptions;

/// A leader that can hear but not speak: every link from it is cut, every link to it kept. Its
/// followers stop hearing heartbeats and elect a new leader; the old leader still receives their
/// RequestVotes and AppendEntries, so it learns the newer term and steps down, which a two-way
/// disconnect would never let it do.
#[test]
fn a_leader_cut_in_one_direction_hears_the_new_term_and_steps_down() {
    let c = Cluster::new(7, &RunOptions::default(), 3, false, false);
    let outcome = c.clone().run_body(async move {
        let old = c.check_one_leader().await?;
        let (old_term, _) = c.get_state(old).expect("the leader is up");
        for j in (0..3).filter(|&j| j != old) {
            c.apply(Fault::Cut { from: old, to: j });
        }
        c.sleep(3 * ELECTION_TIMEOUT).await;
        let new = c.check_one_leader().await?;
        assert_ne!(new, old, "the cut leader cannot be the one elected");
        let (new_term, _) = c.get_state(new).expect("the new leader is up");
        let (heard, still_leader) = c.get_state(old).expect("the old leader is up");
        assert!(new_term > old_term);
        assert_eq!(
            heard, new_term,
            "incoming messages carried the new term to it"
        );
        assert!(!still_leader, "having heard a higher term, it stepped down");
        // Messages from the old leader still fail: it cannot get an entry committed.
        assert!(c.rpc_count(old) > 0, "it kept receiving");
        // Healing the cut lets it talk again, and the cluster agrees on one term.
        for j in (0..3).filter(|&j| j != old) {
            c.apply(Fault::Uncut { from: old, to: j });
        }
        c.sleep(ELECTION_TIMEOUT).await;
        c.check_one_leader().await?;
        c.check_terms()?;
        Ok(())
    });
    assert!(outcome.passed(), "{:?}", outcome.failure_message());
}

/// A two-way disconnect, for contrast: the old leader hears nothing and keeps its old term.
#[test]
fn a_disconnected_leader_keeps_its_old_term() {
    let c = Cluster::new(7, &RunOptions::default(), 3, false, false);
    let outcome = c.clone().run_body(async move {
        let old = c.check_one_leader().await?;
        let (old_term, _) = c.get_state(old).expect("the leader is up");
        c.disconnect(old);
        c.sleep(3 * ELECTION_TIMEOUT).await;
        let new = c.check_one_leader().await?;
        assert_ne!(new, old);
        let (term, leader) = c.get_state(old).expect("up");
        assert_eq!(
            (term, leader),
            (old_term, true),
            "it never heard of the new term"
        );
        Ok(())
    });
    assert!(outcome.passed(), "{:?}", outcome.failure_message());
}
