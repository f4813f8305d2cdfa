//! Engine tests: drive `Raft::step` by hand and assert on the exact outputs.

use raft::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn node(id: NodeId, n: usize) -> Raft {
    Raft::new(
        Config::new(id, n),
        0,
        Box::new(ChaCha8Rng::seed_from_u64(id as u64)),
    )
}

fn node_with(cfg: Config) -> Raft {
    let id = cfg.id as u64;
    Raft::new(cfg, 0, Box::new(ChaCha8Rng::seed_from_u64(id)))
}

fn step(r: &mut Raft, now: u64, input: Input) -> Vec<Output> {
    let mut out = Vec::new();
    r.step(now, input, &mut out);
    out
}

fn recv(r: &mut Raft, now: u64, from: NodeId, msg: Message) -> Vec<Output> {
    step(r, now, Input::Recv { from, msg })
}

fn state(
    term: Term,
    voted_for: Option<NodeId>,
    snapshot: (Index, Term),
    entries: Vec<Entry>,
) -> Vec<u8> {
    let ps = PersistentState {
        term,
        voted_for,
        snapshot_index: snapshot.0,
        snapshot_term: snapshot.1,
        entries,
    };
    postcard::to_allocvec(&ps).unwrap()
}

fn entry(term: Term, c: u8) -> Entry {
    Entry {
        term,
        command: vec![c],
    }
}

fn persist(state: Vec<u8>) -> Output {
    Output::Persist {
        state,
        snapshot: None,
    }
}

fn send(to: NodeId, msg: Message) -> Output {
    Output::Send { to, msg }
}

fn ae(
    term: Term,
    leader: NodeId,
    prev: (Index, Term),
    entries: Vec<Entry>,
    commit: Index,
) -> Message {
    Message::AppendEntries(AppendEntries {
        term,
        leader,
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries,
        leader_commit: commit,
    })
}

fn ae_ok(term: Term, match_index: Index) -> Message {
    Message::AppendEntriesReply(AppendEntriesReply {
        term,
        success: true,
        match_index,
        x_term: 0,
        x_index: 0,
        x_len: 0,
    })
}

fn ae_reject(term: Term, x_term: Term, x_index: Index, x_len: Index) -> Message {
    Message::AppendEntriesReply(AppendEntriesReply {
        term,
        success: false,
        match_index: 0,
        x_term,
        x_index,
        x_len,
    })
}

fn rv(term: Term, candidate: NodeId, last: (Index, Term)) -> Message {
    Message::RequestVote(RequestVote {
        term,
        candidate,
        last_log_index: last.0,
        last_log_term: last.1,
    })
}

fn rv_reply(term: Term, vote_granted: bool) -> Message {
    Message::RequestVoteReply(RequestVoteReply { term, vote_granted })
}

/// Node 0 of 3, elected leader of term 1 at the returned time (its heartbeat outputs discarded).
fn leader() -> (Raft, u64) {
    let mut r = node(0, 3);
    let t = r.next_deadline();
    step(&mut r, t, Input::Tick);
    recv(&mut r, t, 1, rv_reply(1, true));
    assert_eq!(r.state(), (1, true));
    (r, t)
}

#[test]
fn election_timeout_persists_the_vote_before_asking_for_votes() {
    let mut r = node(0, 3);
    assert!(
        step(&mut r, 0, Input::Tick).is_empty(),
        "nothing happens before the timeout"
    );
    let t = r.next_deadline();
    assert!(
        (300..600).contains(&t),
        "election timeout {t} outside 300..600 ms"
    );
    let out = step(&mut r, t, Input::Tick);
    assert_eq!(
        out,
        vec![
            persist(state(1, Some(0), (0, 0), vec![])),
            send(1, rv(1, 0, (0, 0))),
            send(2, rv(1, 0, (0, 0)))
        ]
    );
    assert_eq!(r.role(), Role::Candidate);
    assert!(
        r.next_deadline() >= t + 300,
        "a fresh timeout for the next election"
    );
}

#[test]
fn follower_grants_one_vote_per_term_and_persists_it_first() {
    let mut r = node(1, 3);
    let out = recv(&mut r, 10, 0, rv(1, 0, (0, 0)));
    assert_eq!(
        out,
        vec![
            persist(state(1, Some(0), (0, 0), vec![])),
            send(0, rv_reply(1, true))
        ]
    );
    // A second candidate of the same term is refused, and nothing needs persisting.
    assert_eq!(
        recv(&mut r, 11, 2, rv(1, 2, (0, 0))),
        vec![send(2, rv_reply(1, false))]
    );
    // The first candidate asking again (a duplicate) gets the same answer.
    assert_eq!(
        recv(&mut r, 12, 0, rv(1, 0, (0, 0))),
        vec![send(0, rv_reply(1, true))]
    );
}

#[test]
fn vote_is_denied_to_a_candidate_with_a_less_up_to_date_log() {
    let mut r = node(1, 3);
    let out = recv(&mut r, 0, 0, ae(2, 0, (0, 0), vec![entry(2, 7)], 0));
    assert_eq!(
        out,
        vec![
            persist(state(2, None, (0, 0), vec![entry(2, 7)])),
            send(0, ae_ok(2, 1))
        ]
    );
    // Section 5.4.1: a higher term is adopted, but a log ending in term 1 is not up to date.
    let out = recv(&mut r, 1, 2, rv(3, 2, (5, 1)));
    assert_eq!(
        out,
        vec![
            persist(state(3, None, (0, 0), vec![entry(2, 7)])),
            send(2, rv_reply(3, false))
        ]
    );
}

#[test]
fn a_majority_of_votes_makes_a_leader_that_asserts_itself_at_once() {
    let mut r = node(0, 3);
    let t = r.next_deadline();
    step(&mut r, t, Input::Tick);
    let out = recv(&mut r, t + 1, 1, rv_reply(1, true));
    assert_eq!(
        out,
        vec![
            send(1, ae(1, 0, (0, 0), vec![], 0)),
            send(2, ae(1, 0, (0, 0), vec![], 0))
        ]
    );
    assert_eq!(r.state(), (1, true));
    assert_eq!(r.next_deadline(), t + 1 + 100, "heartbeats every 100 ms");
    // A late vote changes nothing.
    assert!(recv(&mut r, t + 2, 2, rv_reply(1, true)).is_empty());
}

#[test]
fn start_on_a_follower_is_refused_without_effects() {
    let mut r = node(1, 3);
    let mut out = Vec::new();
    assert_eq!(r.start(5, vec![1], &mut out), (1, 0, false));
    assert!(out.is_empty());
}

#[test]
fn start_persists_and_a_burst_goes_out_in_one_append_entries() {
    let (mut r, t) = leader();
    let mut out = Vec::new();
    assert_eq!(r.start(t, vec![1], &mut out), (1, 1, true));
    assert_eq!(r.start(t, vec![2], &mut out), (2, 1, true));
    assert_eq!(
        out,
        vec![
            persist(state(1, Some(0), (0, 0), vec![entry(1, 1)])),
            persist(state(1, Some(0), (0, 0), vec![entry(1, 1), entry(1, 2)]))
        ]
    );
    assert_eq!(r.next_deadline(), t, "replication is due at once");
    // But the heartbeat that just went out is still unanswered: wait for its reply.
    assert!(step(&mut r, t, Input::Tick).is_empty());
    let out = recv(&mut r, t, 1, ae_ok(1, 0));
    assert_eq!(
        out,
        vec![send(1, ae(1, 0, (0, 0), vec![entry(1, 1), entry(1, 2)], 0))]
    );
}

#[test]
fn commit_on_a_majority_applies_in_index_order_exactly_once() {
    let (mut r, t) = leader();
    let mut out = Vec::new();
    r.start(t, vec![1], &mut out);
    r.start(t, vec![2], &mut out);
    let out = recv(&mut r, t + 1, 1, ae_ok(1, 2));
    assert_eq!(
        out,
        vec![
            Output::Apply(ApplyMsg::Command {
                index: 1,
                term: 1,
                command: vec![1]
            }),
            Output::Apply(ApplyMsg::Command {
                index: 2,
                term: 1,
                command: vec![2]
            }),
        ]
    );
    assert_eq!(r.commit_index(), 2);
    // A duplicate reply applies nothing again.
    assert!(recv(&mut r, t + 2, 1, ae_ok(1, 2)).is_empty());
    // A slower follower acknowledging part of the log is sent the rest at once.
    assert_eq!(
        recv(&mut r, t + 2, 2, ae_ok(1, 1)),
        vec![send(2, ae(1, 0, (1, 1), vec![entry(1, 2)], 2))]
    );
}

/// Node 0 leads term 3 with an uncommitted entry 1 from its own term 1 (the situation of Figure 8).
fn figure_8_leader(mutation: Option<Mutation>) -> (Raft, u64) {
    let mut r = node_with(Config {
        mutation,
        ..Config::new(0, 3)
    });
    let t = r.next_deadline();
    step(&mut r, t, Input::Tick);
    recv(&mut r, t, 1, rv_reply(1, true));
    let mut out = Vec::new();
    r.start(t, vec![1], &mut out);
    // Deposed by a term-2 candidate whose log is behind, then elected in term 3.
    recv(&mut r, t + 1, 2, rv(2, 2, (0, 0)));
    let t = r.next_deadline();
    step(&mut r, t, Input::Tick);
    assert_eq!(r.term(), 3);
    recv(&mut r, t, 1, rv_reply(3, true));
    assert_eq!(r.state(), (3, true));
    (r, t)
}

#[test]
fn entries_of_earlier_terms_commit_only_with_a_current_term_entry() {
    let (mut r, t) = figure_8_leader(None);
    // Entry 1 (term 1) is now on a majority, but section 5.4.2 forbids committing it by counting.
    assert!(recv(&mut r, t + 1, 1, ae_ok(3, 1)).is_empty());
    assert_eq!(r.commit_index(), 0);
    let mut out = Vec::new();
    assert_eq!(r.start(t + 2, vec![2], &mut out), (2, 3, true));
    let out = recv(&mut r, t + 3, 1, ae_ok(3, 2));
    assert_eq!(
        out,
        vec![
            Output::Apply(ApplyMsg::Command {
                index: 1,
                term: 1,
                command: vec![1]
            }),
            Output::Apply(ApplyMsg::Command {
                index: 2,
                term: 3,
                command: vec![2]
            }),
        ]
    );
}

#[test]
fn the_figure_8_mutation_commits_by_counting() {
    let (mut r, t) = figure_8_leader(Some(Mutation::CommitPreviousTerms));
    let out = recv(&mut r, t + 1, 1, ae_ok(3, 1));
    assert_eq!(
        out,
        vec![Output::Apply(ApplyMsg::Command {
            index: 1,
            term: 1,
            command: vec![1]
        })]
    );
}

/// Node 1 with log [1/t1, 2/t1, 3/t2].
fn follower_with_conflicting_tail() -> Raft {
    let mut r = node(1, 3);
    recv(
        &mut r,
        0,
        0,
        ae(1, 0, (0, 0), vec![entry(1, 1), entry(1, 2)], 0),
    );
    recv(&mut r, 1, 2, ae(2, 2, (2, 1), vec![entry(2, 3)], 0));
    assert_eq!((r.last_log_index(), r.last_log_term()), (3, 2));
    r
}

#[test]
fn a_mismatch_returns_the_fast_backup_hint() {
    let mut r = follower_with_conflicting_tail();
    // Conflict at index 3: our entry there has term 2, which starts at index 3.
    assert_eq!(
        recv(&mut r, 2, 0, ae(3, 0, (3, 3), vec![], 0)),
        vec![
            persist(state(
                3,
                None,
                (0, 0),
                vec![entry(1, 1), entry(1, 2), entry(2, 3)]
            )),
            send(0, ae_reject(3, 2, 3, 4))
        ]
    );
    // Too short a log: only XLen.
    assert_eq!(
        recv(&mut r, 3, 0, ae(3, 0, (9, 3), vec![], 0)),
        vec![send(0, ae_reject(3, 0, 0, 4))]
    );
    // A stale term is rejected with our term so the sender steps down.
    assert_eq!(
        recv(&mut r, 4, 2, ae(2, 2, (0, 0), vec![], 0)),
        vec![send(2, ae_reject(3, 0, 0, 4))]
    );
}

#[test]
fn a_real_conflict_truncates_but_a_stale_append_does_not() {
    let mut r = follower_with_conflicting_tail();
    // Stale: entries 1 and 2 again. Nothing changes, nothing to persist.
    assert_eq!(
        recv(&mut r, 2, 2, ae(2, 2, (0, 0), vec![entry(1, 1)], 0)),
        vec![send(2, ae_ok(2, 1))]
    );
    assert_eq!(r.last_log_index(), 3);
    // Conflict at 3: replaced, and the leader's commit index is followed up to the new entry.
    let out = recv(&mut r, 3, 0, ae(3, 0, (2, 1), vec![entry(3, 9)], 3));
    assert_eq!(
        out,
        vec![
            persist(state(
                3,
                None,
                (0, 0),
                vec![entry(1, 1), entry(1, 2), entry(3, 9)]
            )),
            send(0, ae_ok(3, 3)),
            Output::Apply(ApplyMsg::Command {
                index: 1,
                term: 1,
                command: vec![1]
            }),
            Output::Apply(ApplyMsg::Command {
                index: 2,
                term: 1,
                command: vec![2]
            }),
            Output::Apply(ApplyMsg::Command {
                index: 3,
                term: 3,
                command: vec![9]
            }),
        ]
    );
}

#[test]
fn the_leader_skips_a_whole_conflicting_term_in_one_round_trip() {
    let (mut r, t) = leader();
    let mut out = Vec::new();
    for c in 1..=3 {
        r.start(t, vec![c], &mut out);
    }
    // The follower's entry at index 3 has term 7, which starts at its index 2; we have no term 7.
    let out = recv(&mut r, t + 1, 1, ae_reject(1, 7, 2, 9));
    assert_eq!(
        out,
        vec![send(1, ae(1, 0, (1, 1), vec![entry(1, 2), entry(1, 3)], 0))]
    );
    // Then its log turns out to be too short: resume at its end.
    let out = recv(&mut r, t + 2, 1, ae_reject(1, 0, 0, 1));
    assert_eq!(
        out,
        vec![send(
            1,
            ae(1, 0, (0, 0), vec![entry(1, 1), entry(1, 2), entry(1, 3)], 0)
        )]
    );
    // A stale rejection that teaches nothing new sends nothing (the heartbeat will retry).
    assert!(recv(&mut r, t + 3, 1, ae_reject(1, 0, 0, 1)).is_empty());
}

#[test]
fn a_higher_term_in_a_reply_deposes_the_leader() {
    let (mut r, t) = leader();
    let out = recv(&mut r, t + 1, 2, ae_reject(5, 0, 0, 1));
    assert_eq!(out, vec![persist(state(5, None, (0, 0), vec![]))]);
    assert_eq!(r.state(), (5, false));
    assert!(
        r.next_deadline() > t + 1,
        "a deposed leader gets a fresh election timer"
    );
}

/// A leader with entries 1..=3 committed and applied, and a snapshot through index 2.
fn leader_with_snapshot() -> (Raft, u64) {
    let (mut r, t) = leader();
    let mut out = Vec::new();
    for c in 1..=3 {
        r.start(t, vec![c], &mut out);
    }
    recv(&mut r, t + 1, 1, ae_ok(1, 3));
    assert_eq!(r.last_applied(), 3);
    let out = step(
        &mut r,
        t + 2,
        Input::Snapshot {
            index: 2,
            data: b"s2".to_vec(),
        },
    );
    assert_eq!(
        out,
        vec![Output::Persist {
            state: state(1, Some(0), (2, 1), vec![entry(1, 3)]),
            snapshot: Some(b"s2".to_vec())
        }]
    );
    (r, t + 2)
}

#[test]
fn snapshots_compact_the_log_and_stale_or_early_ones_are_ignored() {
    let (mut r, t) = leader_with_snapshot();
    assert_eq!(
        (r.snapshot_index(), r.snapshot_term(), r.last_log_index()),
        (2, 1, 3)
    );
    assert_eq!(r.log_entry(2), None);
    assert_eq!(r.log_term(2), Some(1));
    assert!(
        step(
            &mut r,
            t,
            Input::Snapshot {
                index: 1,
                data: vec![]
            }
        )
        .is_empty(),
        "older than the current one"
    );
    assert!(
        step(
            &mut r,
            t,
            Input::Snapshot {
                index: 4,
                data: vec![]
            }
        )
        .is_empty(),
        "not applied yet"
    );
}

#[test]
fn a_laggard_is_sent_the_snapshot_and_applies_it_before_later_commands() {
    let (mut r, t) = leader_with_snapshot();
    // Node 2 never answered, so its next index (1) is compacted away: the heartbeat carries the
    // snapshot to it, and an empty AppendEntries to node 1.
    // (First the replication due since the `start`s: node 1 is up to date and node 2 has a
    // message in flight, so nothing goes out.)
    assert_eq!(r.next_deadline(), t);
    assert!(step(&mut r, t, Input::Tick).is_empty());
    let t = r.next_deadline();
    let out = step(&mut r, t, Input::Tick);
    let install = Message::InstallSnapshot(InstallSnapshot {
        term: 1,
        leader: 0,
        last_included_index: 2,
        last_included_term: 1,
        data: b"s2".to_vec(),
    });
    assert_eq!(
        out,
        vec![
            send(1, ae(1, 0, (3, 1), vec![], 3)),
            send(2, install.clone())
        ]
    );

    let mut f = node(2, 3);
    let out = recv(&mut f, t, 0, install);
    assert_eq!(
        out,
        vec![
            Output::Persist {
                state: state(1, None, (2, 1), vec![]),
                snapshot: Some(b"s2".to_vec())
            },
            send(
                0,
                Message::InstallSnapshotReply(InstallSnapshotReply {
                    term: 1,
                    last_included_index: 2
                })
            ),
            Output::Apply(ApplyMsg::Snapshot {
                index: 2,
                term: 1,
                data: b"s2".to_vec()
            }),
        ]
    );
    assert_eq!((f.commit_index(), f.last_applied()), (2, 2));

    // The leader continues with the entries after the snapshot.
    let out = recv(
        &mut r,
        t,
        2,
        Message::InstallSnapshotReply(InstallSnapshotReply {
            term: 1,
            last_included_index: 2,
        }),
    );
    assert_eq!(out, vec![send(2, ae(1, 0, (2, 1), vec![entry(1, 3)], 3))]);
    let out = recv(&mut f, t, 0, ae(1, 0, (2, 1), vec![entry(1, 3)], 3));
    assert_eq!(
        out[2],
        Output::Apply(ApplyMsg::Command {
            index: 3,
            term: 1,
            command: vec![3]
        })
    );
}

#[test]
fn restore_round_trips_and_does_not_reapply_the_snapshot() {
    let (r, _) = leader_with_snapshot();
    let bytes = r.encode_state();
    assert_eq!(bytes, state(1, Some(0), (2, 1), vec![entry(1, 3)]));
    assert_eq!(decode_state(&bytes).unwrap().entries, vec![entry(1, 3)]);
    let mut back = Raft::restore(
        Config::new(0, 3),
        50,
        Box::new(ChaCha8Rng::seed_from_u64(1)),
        &bytes,
        b"s2",
    )
    .unwrap();
    assert_eq!(back.state(), (1, false), "leadership is volatile");
    assert_eq!(back.voted_for(), Some(0));
    assert_eq!(
        (
            back.snapshot_index(),
            back.last_log_index(),
            back.commit_index(),
            back.last_applied()
        ),
        (2, 3, 2, 2)
    );
    assert_eq!(back.snapshot_data(), b"s2");
    // Nothing is applied until a leader says entry 3 is committed.
    let out = recv(&mut back, 60, 1, ae(2, 1, (3, 1), vec![], 3));
    assert_eq!(
        out,
        vec![
            persist(state(2, None, (2, 1), vec![entry(1, 3)])),
            send(1, ae_ok(2, 3)),
            Output::Apply(ApplyMsg::Command {
                index: 3,
                term: 1,
                command: vec![3]
            }),
        ]
    );
}

#[test]
fn restore_rejects_garbage_with_context() {
    let err = Raft::restore(
        Config::new(0, 3),
        0,
        Box::new(ChaCha8Rng::seed_from_u64(1)),
        &[0xff; 3],
        &[],
    )
    .err()
    .unwrap();
    assert!(matches!(err, RestoreError::Decode { len: 3, .. }), "{err}");
    let bad_vote = state(1, Some(9), (0, 0), vec![]);
    let err = Raft::restore(
        Config::new(0, 3),
        0,
        Box::new(ChaCha8Rng::seed_from_u64(1)),
        &bad_vote,
        &[],
    )
    .err()
    .unwrap();
    assert!(
        matches!(
            err,
            RestoreError::BadVote {
                voted_for: 9,
                peers: 3
            }
        ),
        "{err}"
    );
}

#[test]
fn same_seed_same_outputs() {
    let run = || {
        let mut r = node(0, 5);
        let mut all = Vec::new();
        for _ in 0..5 {
            let t = r.next_deadline();
            all.push((t, step(&mut r, t, Input::Tick)));
        }
        all
    };
    assert_eq!(run(), run());
}
