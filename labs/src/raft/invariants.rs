//! Raft's safety properties (extended paper, Figure 3), checked after every simulator event.
//!
//! Only the host whose handler ran can have changed, so each check looks at that host alone and
//! compares it with what the run has seen so far:
//! - **Election safety** (section 5.2): at most one leader per term, ever.
//! - **Log matching** (section 5.3): if two logs have an entry with the same index and term, they
//!   are identical up to it. Checked incrementally: every (index, term) seen anywhere must always
//!   carry the same command and follow an entry of the same term; by induction over indexes this is
//!   the whole property. Only entries written since the last check are visited.
//! - **Leader completeness** (section 5.4): when a server becomes leader, its log holds every
//!   command that any server has applied (a committed entry) after its snapshot.
//! - **State machine safety** (section 5.4.3): no two servers commit different commands at one
//!   index. Each server's commit index is read after each of its steps: every entry up to it is
//!   committed, so it must be in the log (the commit index never passes the log, Figure 2) and must
//!   match what any server committed there before. The Raft lab's tester also checks it where
//!   commands are applied (`check_logs`); services built on Raft (kvraft), whose appliers are
//!   internal, are checked through the commit index alone.
//!
//! Beyond Figure 3, the rules of Figure 2 and section 7 whose breaking the Figure 3 properties
//! only show later, if ever (each is what a classic bug breaks first):
//! - **One vote per term** (Figure 2, RequestVote receiver step 2; votedFor is persistent state):
//!   a server's vote in a term never changes and never disappears, across restarts. A restarted
//!   server with no vote in a term it voted in has lost its persisted `votedFor`.
//! - **Terms never decrease** (Figure 2: currentTerm is persistent and "increases
//!   monotonically"), across restarts.
//! - **A higher term is never ignored** (Figure 2, "All Servers"): after a server handles a
//!   message of term T its term is at least T, so a leader of an older term is no longer leader
//!   after that step. The world reports each delivered message's term ([`Invariants::saw`]).
//! - **The election timer** (Figure 2, Followers: "if election timeout elapses without receiving
//!   AppendEntries RPC from current leader or granting vote to candidate: convert to candidate"):
//!   a server starts an election only once at least its config's `election_timeout_min` has passed
//!   since the last event that starts its timer: its boot, its own previous election (Candidates:
//!   "if election timeout elapses: start new election"), its stepping down from leader (a leader
//!   runs no election timer), an AppendEntries or InstallSnapshot from a leader of a term at least
//!   its own, or a vote it granted. The host reports the last two from the messages it delivers and
//!   sends ([`Seen`]), not from the node's own timer, which is what a bug gets wrong. A candidate
//!   that steps down on a higher term keeps its timer (Figure 2 does not restart it), so that is
//!   not a reset here either.
//! - **A leader counts only its own term's entries** (section 5.4.2, Figure 2 "Leaders"): when a
//!   leader's commit index moves during its term, the entry it moves to is of that term (earlier
//!   entries commit only indirectly, the Figure 8 scenario).
//! - **The commit index** (Figure 2: "index of highest log entry known to be committed
//!   (initialized to 0, increases monotonically)"): within one incarnation of a server it never
//!   decreases; a restarted server starts again from its snapshot's index (0 without one), which
//!   the volatile state allows. It never passes the end of the log (checked after every step, not
//!   only when it grows), and `lastApplied` never passes it.
//! - **Applied = committed, in order** (Figure 2: "if commitIndex > lastApplied: increment
//!   lastApplied, apply log[lastApplied]"): each server applies index after index with no gap or
//!   repeat (a snapshot jumps ahead, never back), and what it applies at an index is what was
//!   committed there. Checked where the world sees applies (the Raft lab's applier).
//! - **Snapshots** (section 7): a server's snapshot covers only committed entries (its last index
//!   is at most the commit index, and its last term is that of the entry committed there), and the
//!   entries the log keeps after it follow it (the first one was appended after an entry of the
//!   snapshot's last term), so an install never keeps a conflicting suffix.
//!
//! A server's state after a step is taken as durable: the drivers here persist a step's state
//! before any of its sends, and a crash never undoes a persist that a step made.

use std::collections::{BTreeMap, HashMap};

use raft::Raft;

use super::seen::{Seen, TimerReset};
use super::world::Cmd;
use crate::failure::Failure;
use sim::{HostId, Time};

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What the run has observed so far.
pub struct Invariants {
    leaders: BTreeMap<u64, HostId>,
    /// (index, term) -> (command hash, term of the previous entry).
    entries: HashMap<(u64, u64), (u64, u64)>,
    /// Applied (hence committed) commands by index, as hashes.
    committed: BTreeMap<u64, u64>,
    /// The (term, leader?) last seen per host, to notice new leaderships.
    seen_leader_term: Vec<Option<u64>>,
    /// Per host, the commit index up to which its committed entries were recorded.
    commit_seen: Vec<u64>,
    /// Terms of committed entries, by index (from the commit index observations).
    committed_terms: BTreeMap<u64, u64>,
    /// (voter, term) -> the candidate it voted for.
    votes: BTreeMap<(HostId, u64), HostId>,
    /// Per host, the highest term it has had, across restarts.
    max_term: Vec<u64>,
    /// Per host, what its host saw it handle and send since its previous step was checked.
    seen: Vec<Seen>,
    /// Per host, when and why its election timer last started (Figure 2, Followers).
    timer_start: Vec<(Time, TimerStart)>,
    /// Per host, (term, leader?) after its previous step.
    last_state: Vec<(u64, bool)>,
    /// Per host, the commit index after its previous step in this incarnation.
    commit_floor: Vec<u64>,
    /// Per host, the last index applied (`None` until known after a restart).
    applied_upto: Vec<Option<u64>>,
    /// Per host, the snapshot base seen after its previous step.
    base_seen: Vec<u64>,
}

impl Invariants {
    pub fn new(n: usize) -> Self {
        Invariants {
            leaders: BTreeMap::new(),
            entries: HashMap::new(),
            committed: BTreeMap::new(),
            seen_leader_term: vec![None; n],
            commit_seen: vec![0; n],
            committed_terms: BTreeMap::new(),
            votes: BTreeMap::new(),
            max_term: vec![0; n],
            seen: vec![Seen::default(); n],
            timer_start: vec![(0, TimerStart::Boot); n],
            last_state: vec![(0, false); n],
            commit_floor: vec![0; n],
            applied_upto: vec![Some(0); n],
            base_seen: vec![0; n],
        }
    }

    /// A fresh instance runs on `host` since `now`; its whole log will be re-checked.
    pub fn restarted(&mut self, host: HostId, now: Time) {
        self.seen_leader_term[host] = None;
        self.commit_seen[host] = 0;
        self.commit_floor[host] = 0;
        self.seen[host] = Seen::default();
        self.timer_start[host] = (now, TimerStart::Boot);
        self.last_state[host].1 = false;
        self.applied_upto[host] = None;
        self.base_seen[host] = 0;
    }

    /// Checks the state a restarted server came back with, right after [`Self::restarted`]:
    /// its term and its vote in that term are what it had before the crash (Figure 2's persistent
    /// state). Worlds that can reach the new instance call it; the next step checks the rest.
    pub fn after_restart(&mut self, h: HostId, raft: &Raft) -> Result<(), Failure> {
        self.check_term_and_vote(h, raft)?;
        // The restored term is where the next step starts from: a crash may have cut off the
        // step that reached it (a crash point right after a persist) before it was checked.
        self.last_state[h] = (raft.term(), false);
        self.applied_upto[h] = Some(raft.last_applied());
        self.commit_floor[h] = raft.commit_index();
        Ok(())
    }

    /// What server `h`'s host saw it handle and send in the step checked next.
    pub fn saw(&mut self, h: HostId, seen: Seen) {
        let before = &mut self.seen[h];
        if let Some(t) = seen.msg_term {
            before.msg_term = Some(before.msg_term.map_or(t, |m| m.max(t)));
        }
        if seen.timer_reset.is_some() {
            before.timer_reset = seen.timer_reset;
        }
    }

    /// Records an applied command.
    pub fn committed(&mut self, index: u64, command: &Cmd) {
        self.committed.entry(index).or_insert_with(|| fnv(command));
    }

    /// Server `h` applied `command` at `index` (applied = committed, in order).
    pub fn applied(&mut self, h: HostId, index: u64, command: &Cmd) -> Result<(), Failure> {
        if let Some(upto) = self.applied_upto[h] {
            if index != upto + 1 {
                return Err(Failure::invariant(format!(
                    "applied entries must be the committed ones in order (Raft paper, Figure 2: apply log[lastApplied] after incrementing it): server {h} applied index {index} after index {upto}"
                )));
            }
        }
        if let Some(&hash) = self.committed.get(&index) {
            if hash != fnv(command) {
                return Err(Failure::invariant(format!(
                    "applied entries must be the committed ones (Raft paper, Figure 2): server {h} applied at index {index} a command other than the one committed there"
                )));
            }
        }
        self.applied_upto[h] = Some(index);
        Ok(())
    }

    /// Server `h` handed its service a snapshot through `index` (it skips ahead, never back).
    pub fn applied_snapshot(&mut self, h: HostId, index: u64) -> Result<(), Failure> {
        if let Some(upto) = self.applied_upto[h] {
            if index <= upto {
                return Err(Failure::invariant(format!(
                    "a snapshot install must move the applied state forward (Raft paper, section 7): server {h} installed a snapshot through {index} after applying up to {upto}"
                )));
            }
        }
        self.applied_upto[h] = Some(index);
        Ok(())
    }

    fn check_term_and_vote(&mut self, h: HostId, raft: &Raft) -> Result<(), Failure> {
        let term = raft.term();
        if term < self.max_term[h] {
            return Err(Failure::invariant(format!(
                "terms never decrease (Raft paper, Figure 2: currentTerm is persistent and increases monotonically): server {h} is at term {term} after term {}",
                self.max_term[h]
            )));
        }
        self.max_term[h] = term;
        match (raft.voted_for(), self.votes.get(&(h, term))) {
            (Some(v), None) => {
                self.votes.insert((h, term), v);
            }
            (Some(v), Some(&before)) if v != before => {
                return Err(Failure::invariant(format!(
                    "at most one vote per term (Raft paper, Figure 2, RequestVote receiver step 2): server {h} voted for {before} and then for {v} in term {term}"
                )));
            }
            (None, Some(&before)) => {
                return Err(Failure::invariant(format!(
                    "a vote is persistent state (Raft paper, Figure 2): server {h} voted for {before} in term {term} and has lost that vote (it could vote again in the term)"
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks host `h` after it handled an event at `now`; says what the step did.
    pub fn after_step(
        &mut self,
        h: HostId,
        raft: &mut Raft,
        now: Time,
    ) -> Result<Observed, Failure> {
        // Persistent term and vote; a higher term is never ignored (Figure 2).
        self.check_term_and_vote(h, raft)?;
        let (term, leader) = raft.state();
        let seen = std::mem::take(&mut self.seen[h]);
        let election = self.check_timer(h, raft, now, seen)?;
        if let Some(t) = seen.msg_term {
            let (before, was_leader) = self.last_state[h];
            if t > term || (was_leader && leader && t > before) {
                return Err(Failure::invariant(format!(
                    "a higher term is never ignored (Raft paper, Figure 2, All Servers: if an RPC \
                     request or response contains term T > currentTerm, set currentTerm = T and \
                     convert to follower): server {h} handled a message of term {t} and is {} of term \
                     {term}",
                    if leader { "still leader" } else { "a follower" }
                )));
            }
        }
        let (before, was_leader) = self.last_state[h];
        self.last_state[h] = (term, leader);
        // The commit index (Figure 2): monotonic within an incarnation, within the log.
        let commit = raft.commit_index();
        if was_leader && leader && before == term && commit > self.commit_floor[h] {
            let t = raft.log_term(commit).unwrap_or(0);
            if t != term {
                return Err(Failure::invariant(format!(
                    "a leader commits by counting replicas only entries of its own term (Raft paper, \
                     section 5.4.2 and Figure 2, Leaders): server {h}, leader of term {term}, moved \
                     its commit index to {commit}, an entry of term {t}"
                )));
            }
        }
        if commit < self.commit_floor[h] {
            return Err(Failure::invariant(format!(
                "the commit index never decreases (Raft paper, Figure 2): server {h} went from {} to \
                 {commit}",
                self.commit_floor[h]
            )));
        }
        self.commit_floor[h] = commit;
        if commit > raft.last_log_index() {
            return Err(Failure::invariant(format!(
                "commit index passes the log (Raft paper, Figure 2): server {h} has commit index \
                 {commit} but its last entry is {}",
                raft.last_log_index()
            )));
        }
        if raft.last_applied() > commit {
            return Err(Failure::invariant(format!(
                "lastApplied passes the commit index (Raft paper, Figure 2): server {h} applied up \
                 to {} with commit index {commit}",
                raft.last_applied()
            )));
        }
        // State machine safety (section 5.4.3), through the commit index.
        if commit > self.commit_seen[h] {
            let from = self.commit_seen[h].max(raft.snapshot_index()) + 1;
            for index in from..=commit {
                let entry = raft.log_entry(index).expect("index within the log");
                self.committed_terms.entry(index).or_insert(entry.term);
                let hash = fnv(&entry.command);
                match self.committed.get(&index) {
                    None => {
                        self.committed.insert(index, hash);
                    }
                    Some(&seen) if seen != hash => {
                        return Err(Failure::invariant(format!(
                            "state machine safety violated (Raft paper, section 5.4.3): server {h} \
                             committed a different command at index {index} than another server"
                        )));
                    }
                    Some(_) => {}
                }
            }
            self.commit_seen[h] = commit;
        }
        // Log matching (section 5.3).
        if let Some(from) = raft.take_log_dirty_from() {
            let start = from.max(raft.snapshot_index() + 1);
            for index in start..=raft.last_log_index() {
                let entry = raft.log_entry(index).expect("index within the log");
                let prev_term = raft
                    .log_term(index - 1)
                    .expect("previous entry within the log or its base");
                let seen = (fnv(&entry.command), prev_term);
                match self.entries.get(&(index, entry.term)) {
                    None => {
                        self.entries.insert((index, entry.term), seen);
                    }
                    Some(&(hash, prev)) if (hash, prev) != seen => {
                        return Err(Failure::invariant(format!(
                            "log matching violated (Raft paper, section 5.3): server {h} has entry {index}/t{} \
                             with {} but another log has a different {}",
                            entry.term,
                            if hash != seen.0 { "a command" } else { "a previous entry" },
                            if hash != seen.0 { "command" } else { "previous term" },
                        )));
                    }
                    Some(_) => {}
                }
            }
        }
        // Snapshots (section 7): only committed entries, and no conflicting suffix kept.
        let base = raft.snapshot_index();
        if base != self.base_seen[h] {
            self.base_seen[h] = base;
            let base_term = raft.snapshot_term();
            if base > commit {
                return Err(Failure::invariant(format!(
                    "a snapshot holds only committed entries (Raft paper, section 7): server {h} has a \
                     snapshot through {base} with commit index {commit}"
                )));
            }
            if let Some(&t) = self.committed_terms.get(&base) {
                if t != base_term {
                    return Err(Failure::invariant(format!(
                        "a snapshot holds only committed entries (Raft paper, section 7): server {h}'s \
                         snapshot ends with {base}/t{base_term}, but {base}/t{t} is committed there"
                    )));
                }
            }
            if let Some(next) = raft.log_entry(base + 1) {
                if let Some(&(_, prev)) = self.entries.get(&(base + 1, next.term)) {
                    if prev != base_term {
                        return Err(Failure::invariant(format!(
                            "a snapshot install keeps no conflicting entries (Raft paper, section 7): \
                             server {h} keeps {}/t{} after a snapshot ending in term {base_term}, but \
                             that entry follows an entry of term {prev}",
                            base + 1,
                            next.term
                        )));
                    }
                }
            }
        }
        // Election safety (section 5.2) and leader completeness (section 5.4).
        let mut new_leader = None;
        if leader && self.seen_leader_term[h] != Some(term) {
            self.seen_leader_term[h] = Some(term);
            if let Some(&other) = self.leaders.get(&term) {
                if other != h {
                    return Err(Failure::invariant(format!(
                        "election safety violated (Raft paper, section 5.2): servers {other} and {h} are both leaders of term {term}"
                    )));
                }
            } else {
                self.leaders.insert(term, h);
            }
            new_leader = Some(term);
            for (&index, &hash) in self.committed.range(raft.snapshot_index() + 1..) {
                let ok = raft
                    .log_entry(index)
                    .is_some_and(|e| fnv(&e.command) == hash);
                if !ok {
                    return Err(Failure::invariant(format!(
                        "leader completeness violated (Raft paper, section 5.4): server {h} leads term {term} \
                         without committed entry {index}"
                    )));
                }
            }
        }
        Ok(Observed {
            term,
            leader,
            new_leader,
            election,
        })
    }

    /// The election timer rule (module documentation). Returns whether the step started an
    /// election.
    fn check_timer(
        &mut self,
        h: HostId,
        raft: &Raft,
        now: Time,
        seen: Seen,
    ) -> Result<bool, Failure> {
        let (before, was_leader) = self.last_state[h];
        let (term, leader) = raft.state();
        // Only an election moves a server to a higher term with a vote for itself: adopting a
        // higher term clears the vote, and a vote for itself is cast nowhere else.
        let election = term > before && raft.voted_for() == Some(raft.id());
        if election {
            let (at, why) = self.timer_start[h];
            let min = raft.config().election_timeout_min;
            if now < at + min {
                return Err(Failure::invariant(format!(
                    "a server becomes a candidate only after an election timeout without hearing \
                     from the leader or granting a vote (Raft paper, Figure 2, Followers): server \
                     {h} started an election for term {term} at {now} ms, {} ms after {} at {at} \
                     ms; its election timeout is at least {min} ms",
                    now - at,
                    why.describe()
                )));
            }
            self.timer_start[h] = (now, TimerStart::Election);
        } else if let Some(r) = seen.timer_reset {
            self.timer_start[h] = (now, TimerStart::Reset(r));
        } else if was_leader && !leader {
            self.timer_start[h] = (now, TimerStart::SteppedDown);
        }
        Ok(election)
    }
}

/// What one checked step of a server did ([`Invariants::after_step`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The server's term and whether it leads, after the step.
    pub term: u64,
    pub leader: bool,
    /// The term it just became leader of, if it did.
    pub new_leader: Option<u64>,
    /// Whether the step started an election (a new term with a vote for itself).
    pub election: bool,
}

/// Why a server's election timer last started (Figure 2: Followers and Candidates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimerStart {
    Boot,
    Election,
    SteppedDown,
    Reset(TimerReset),
}

impl TimerStart {
    fn describe(self) -> &'static str {
        match self {
            TimerStart::Boot => "its start",
            TimerStart::Election => "its previous election",
            TimerStart::SteppedDown => "stepping down as leader",
            TimerStart::Reset(r) => r.describe(),
        }
    }
}
