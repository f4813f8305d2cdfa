//! The Raft state machine.

use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::log::Log;
use crate::message::*;
use crate::RestoreError;

/// Timing and identity of one node. Times are in the driver's virtual milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub id: NodeId,
    /// Cluster size; peers are `0..peers`.
    pub peers: usize,
    /// Election timeouts are drawn uniformly from `election_timeout_min..election_timeout_max`.
    pub election_timeout_min: u64,
    pub election_timeout_max: u64,
    /// The leader sends AppendEntries to every follower this often when idle.
    pub heartbeat_interval: u64,
    /// Test-only: re-introduce a known bug, to check that a test harness catches it. `None` in
    /// any real use.
    pub mutation: Option<Mutation>,
}

/// Known Raft bugs that [`Config::mutation`] can switch back on (mutation testing of harnesses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Commit an entry of an earlier term once it is on a majority: the Figure 8 bug that
    /// section 5.4.2 forbids.
    CommitPreviousTerms,
    /// Grant votes without the up-to-date check of section 5.4.1.
    GrantStaleVotes,
    /// Forget `votedFor` on restart, as if it were not persisted (Figure 2).
    ForgetVote,
    /// Forget `currentTerm` on restart, as if it were not persisted (Figure 2): the term is
    /// rebuilt from the log's last entry, and the vote of the forgotten term with it.
    ForgetTerm,
    /// A follower truncates its log after `prevLogIndex` on every AppendEntries, even where its
    /// entries match: a delayed, shorter AppendEntries cuts off entries it already acknowledged
    /// (Figure 2, AppendEntries receiver step 3: truncate only at a conflict).
    TruncateMatching,
    /// A follower keeps its own entry where the leader's conflicts with it and appends the rest
    /// after it (Figure 2, AppendEntries receiver step 3: a conflicting entry and all that follow
    /// it must go).
    KeepConflicting,
    /// A leader ignores a higher term in an AppendEntries reply and stays leader (Figure 2, "All
    /// Servers": a higher term in any RPC reply converts a server to follower).
    IgnoreHigherTermReply,
    /// Granting a vote does not restart the election timer (Figure 2, "Followers"; the lab's
    /// hint: reset the timer only when granting a vote), so elections compete and split.
    NoTimerResetOnVote,
    /// InstallSnapshot keeps the log's entries after the snapshot even when the log has no entry
    /// matching the snapshot's last one (section 7: then the whole log is discarded).
    SnapshotKeepsConflicting,
    /// InstallSnapshot persists the new log base but not the snapshot bytes, so a restart pairs a
    /// compacted log with an older snapshot (section 7: save the snapshot with the state).
    SnapshotNotPersisted,
}

impl Config {
    /// The lab-friendly defaults: 100 ms heartbeats (at most ten per second, as the lab asks) and
    /// 300-600 ms election timeouts, so a split vote is rare and a new leader is usually elected
    /// well within a second, far inside the tester's 5 s.
    pub fn new(id: NodeId, peers: usize) -> Self {
        Config {
            id,
            peers,
            election_timeout_min: 300,
            election_timeout_max: 600,
            heartbeat_interval: 100,
            mutation: None,
        }
    }
}

/// A node's role (section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

/// What a node makes durable (Figure 2's persistent state plus the snapshot's base of section 7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistentState {
    pub term: Term,
    pub voted_for: Option<NodeId>,
    pub snapshot_index: Index,
    pub snapshot_term: Term,
    pub entries: Vec<Entry>,
}

/// One Raft peer as a deterministic state machine. See the crate documentation.
pub struct Raft {
    cfg: Config,
    rng: Box<dyn RngCore + Send>,
    now: u64,

    // Persistent state (Figure 2), plus the snapshot.
    term: Term,
    voted_for: Option<NodeId>,
    log: Log,
    snapshot: Vec<u8>,

    // Volatile state.
    role: Role,
    leader_hint: Option<NodeId>,
    commit_index: Index,
    last_applied: Index,
    votes: Vec<bool>,
    next_index: Vec<Index>,
    match_index: Vec<Index>,
    /// Leader: whether an AppendEntries/InstallSnapshot to the peer awaits its reply. New entries go
    /// out at once only to peers with nothing in flight; the others get them with the next heartbeat
    /// or right after their reply. An unreachable peer thus costs one message per heartbeat instead
    /// of one per `start`, and a slow one is not flooded with growing copies of the log's tail.
    in_flight: Vec<bool>,
    /// Leader: entries were proposed and should be sent without waiting for the heartbeat.
    replicate_pending: bool,
    election_deadline: u64,
    heartbeat_due: u64,

    // Per-step bookkeeping: what must be persisted and what to emit after the Persist.
    persist_dirty: bool,
    snapshot_dirty: bool,
    outbox: Vec<(NodeId, Message)>,
    applies: Vec<ApplyMsg>,
    log_dirty_from: Option<Index>,
}

impl Raft {
    /// A fresh node (no persisted state) at virtual time `now`.
    pub fn new(cfg: Config, now: u64, rng: Box<dyn RngCore + Send>) -> Raft {
        assert!(
            cfg.id < cfg.peers,
            "node id {} out of range for {} peers",
            cfg.id,
            cfg.peers
        );
        assert!(
            cfg.election_timeout_min < cfg.election_timeout_max,
            "empty election timeout range"
        );
        let n = cfg.peers;
        let mut raft = Raft {
            cfg,
            rng,
            now,
            term: 0,
            voted_for: None,
            log: Log::default(),
            snapshot: Vec::new(),
            role: Role::Follower,
            leader_hint: None,
            commit_index: 0,
            last_applied: 0,
            votes: vec![false; n],
            next_index: vec![1; n],
            match_index: vec![0; n],
            in_flight: vec![false; n],
            replicate_pending: false,
            election_deadline: 0,
            heartbeat_due: 0,
            persist_dirty: false,
            snapshot_dirty: false,
            outbox: Vec::new(),
            applies: Vec::new(),
            log_dirty_from: None,
        };
        raft.reset_election_timer();
        raft
    }

    /// Rebuilds a node after a crash from what its predecessor persisted (`state` from
    /// [`Output::Persist`], `snapshot` the last snapshot saved with it). Empty `state` means a fresh
    /// node. The service is expected to restore `snapshot` itself: the node starts with
    /// `commit_index = last_applied = snapshot index` and does not re-send it on apply.
    pub fn restore(
        cfg: Config,
        now: u64,
        rng: Box<dyn RngCore + Send>,
        state: &[u8],
        snapshot: &[u8],
    ) -> Result<Raft, RestoreError> {
        let mut raft = Raft::new(cfg, now, rng);
        if state.is_empty() {
            return Ok(raft);
        }
        let ps: PersistentState =
            postcard::from_bytes(state).map_err(|source| RestoreError::Decode {
                len: state.len(),
                source,
            })?;
        if let Some(v) = ps.voted_for {
            if v >= raft.cfg.peers {
                return Err(RestoreError::BadVote {
                    voted_for: v,
                    peers: raft.cfg.peers,
                });
            }
        }
        raft.term = ps.term;
        raft.voted_for = if raft.cfg.mutation == Some(Mutation::ForgetVote) {
            None
        } else {
            ps.voted_for
        };
        raft.log = Log::new(ps.snapshot_index, ps.snapshot_term, ps.entries);
        if raft.cfg.mutation == Some(Mutation::ForgetTerm) {
            raft.term = raft.log.last_term();
            raft.voted_for = None;
        }
        raft.snapshot = snapshot.to_vec();
        raft.commit_index = ps.snapshot_index;
        raft.last_applied = ps.snapshot_index;
        raft.log_dirty_from = Some(ps.snapshot_index + 1);
        Ok(raft)
    }

    // ----- observation -------------------------------------------------------------------------

    pub fn id(&self) -> NodeId {
        self.cfg.id
    }
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// `GetState()`: (current term, whether this node believes it is the leader).
    pub fn state(&self) -> (Term, bool) {
        (self.term, self.role == Role::Leader)
    }
    pub fn term(&self) -> Term {
        self.term
    }
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }
    /// The leader of the current term, if known (a hint for clients).
    pub fn leader_hint(&self) -> Option<NodeId> {
        self.leader_hint
    }
    pub fn commit_index(&self) -> Index {
        self.commit_index
    }
    pub fn last_applied(&self) -> Index {
        self.last_applied
    }
    pub fn last_log_index(&self) -> Index {
        self.log.last_index()
    }
    pub fn last_log_term(&self) -> Term {
        self.log.last_term()
    }
    /// Index and term of the last entry covered by the snapshot (0, 0 without one).
    pub fn snapshot_index(&self) -> Index {
        self.log.base_index()
    }
    pub fn snapshot_term(&self) -> Term {
        self.log.base_term()
    }
    /// The current snapshot bytes (empty without one).
    pub fn snapshot_data(&self) -> &[u8] {
        &self.snapshot
    }
    /// The term of the entry at `index` if it is in the log or is the snapshot's last entry.
    pub fn log_term(&self, index: Index) -> Option<Term> {
        self.log.term_at(index)
    }
    /// The entry at `index` if it is in the log (not compacted).
    pub fn log_entry(&self, index: Index) -> Option<&Entry> {
        self.log.entry(index)
    }
    /// For invariant checkers: the lowest log index written (appended or overwritten) since the
    /// previous call, then resets it. Cheap incremental checking of log matching.
    pub fn take_log_dirty_from(&mut self) -> Option<Index> {
        self.log_dirty_from.take()
    }
    /// The virtual time at which the node next needs an [`Input::Tick`]: the heartbeat for a leader,
    /// the election timeout otherwise.
    pub fn next_deadline(&self) -> u64 {
        if self.role == Role::Leader {
            if self.replicate_pending {
                self.now
            } else {
                self.heartbeat_due
            }
        } else {
            self.election_deadline
        }
    }
    /// The encoding of the persistent state as [`Output::Persist`] would carry it now.
    pub fn encode_state(&self) -> Vec<u8> {
        // The postcard encoding of `PersistentState`: the header fields, the entry count as a
        // varint, then the entries, whose encoding the log keeps up to date.
        let header = (
            self.term,
            self.voted_for,
            self.log.base_index(),
            self.log.base_term(),
            self.log.len(),
        );
        let mut bytes = Vec::with_capacity(24 + self.log.encoded_entries().len());
        bytes = postcard::to_extend(&header, bytes).expect("encoding into a Vec cannot fail");
        bytes.extend_from_slice(self.log.encoded_entries());
        bytes
    }

    // ----- inputs --------------------------------------------------------------------------------

    /// Feeds one input at virtual time `now` (never earlier than a previous `now`) and appends the
    /// resulting effects to `out`: at most one [`Output::Persist`] first, then sends, then applies.
    pub fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        self.now = self.now.max(now);
        match input {
            Input::Tick => self.tick(),
            Input::Recv { from, msg } => self.receive(from, msg),
            Input::Start(command) => {
                self.propose(command);
            }
            Input::Snapshot { index, data } => self.take_snapshot(index, data),
        }
        self.flush(out);
    }

    /// The lab's `Start(command)`: if this node is the leader, appends `command` and returns
    /// `(index, term, true)`; otherwise `(next index, term, false)` and does nothing. Replication
    /// starts at the next [`Input::Tick`], which [`Raft::next_deadline`] makes due at once: a burst
    /// of `start`s at one instant travels in one AppendEntries per follower.
    pub fn start(
        &mut self,
        now: u64,
        command: Vec<u8>,
        out: &mut Vec<Output>,
    ) -> (Index, Term, bool) {
        self.now = self.now.max(now);
        let r = self.propose(command);
        self.flush(out);
        r
    }

    /// The lab's `Snapshot(index, snapshot)`: the service has applied everything up to `index`
    /// and `data` captures it. Ignored if `index` is not newer than the current snapshot or not yet applied.
    pub fn snapshot(&mut self, now: u64, index: Index, data: Vec<u8>, out: &mut Vec<Output>) {
        self.step(now, Input::Snapshot { index, data }, out);
    }

    // ----- internals -----------------------------------------------------------------------------

    fn majority(&self) -> usize {
        self.cfg.peers / 2 + 1
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> {
        let me = self.cfg.id;
        (0..self.cfg.peers).filter(move |&p| p != me)
    }

    fn reset_election_timer(&mut self) {
        let timeout = self
            .rng
            .gen_range(self.cfg.election_timeout_min..self.cfg.election_timeout_max);
        self.election_deadline = self.now + timeout;
    }

    fn mark_log_dirty(&mut self, from: Index) {
        self.log_dirty_from = Some(self.log_dirty_from.map_or(from, |d| d.min(from)));
        self.persist_dirty = true;
    }

    fn send(&mut self, to: NodeId, msg: Message) {
        self.outbox.push((to, msg));
    }

    fn flush(&mut self, out: &mut Vec<Output>) {
        if self.persist_dirty {
            let snapshot = if self.snapshot_dirty {
                Some(self.snapshot.clone())
            } else {
                None
            };
            out.push(Output::Persist {
                state: self.encode_state(),
                snapshot,
            });
            self.persist_dirty = false;
            self.snapshot_dirty = false;
        }
        for (to, msg) in self.outbox.drain(..) {
            out.push(Output::Send { to, msg });
        }
        out.extend(self.applies.drain(..).map(Output::Apply));
        // Apply committed commands in index order, each exactly once (the lab's applyCh contract).
        while self.last_applied < self.commit_index {
            self.last_applied += 1;
            let i = self.last_applied;
            let entry = self
                .log
                .entry(i)
                .expect("committed entries after the snapshot are in the log");
            out.push(Output::Apply(ApplyMsg::Command {
                index: i,
                term: entry.term,
                command: entry.command.clone(),
            }));
        }
    }

    fn tick(&mut self) {
        match self.role {
            Role::Leader => {
                if self.now >= self.heartbeat_due {
                    self.broadcast_append();
                } else if self.replicate_pending {
                    self.replicate_pending = false;
                    for p in self.peers().collect::<Vec<_>>() {
                        if !self.in_flight[p] && self.next_index[p] <= self.log.last_index() {
                            self.send_append(p);
                        }
                    }
                }
            }
            Role::Follower | Role::Candidate => {
                if self.now >= self.election_deadline {
                    self.start_election();
                }
            }
        }
    }

    /// Section 5.2: become a candidate in a new term, vote for self, ask everyone else.
    fn start_election(&mut self) {
        self.term += 1;
        self.role = Role::Candidate;
        self.voted_for = Some(self.cfg.id);
        self.leader_hint = None;
        self.persist_dirty = true;
        self.votes = vec![false; self.cfg.peers];
        self.votes[self.cfg.id] = true;
        self.reset_election_timer();
        if self.majority() == 1 {
            self.become_leader();
            return;
        }
        let rv = RequestVote {
            term: self.term,
            candidate: self.cfg.id,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for p in self.peers().collect::<Vec<_>>() {
            self.send(p, Message::RequestVote(rv.clone()));
        }
    }

    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.leader_hint = Some(self.cfg.id);
        let next = self.log.last_index() + 1;
        self.next_index = vec![next; self.cfg.peers];
        self.match_index = vec![0; self.cfg.peers];
        self.match_index[self.cfg.id] = self.log.last_index();
        self.in_flight = vec![false; self.cfg.peers];
        self.replicate_pending = false;
        // Assert leadership at once (Figure 2: "upon election: send initial empty AppendEntries").
        self.broadcast_append();
    }

    /// Adopts a newer term (Figure 2, "All Servers"), and/or steps down to follower.
    fn become_follower(&mut self, term: Term) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.persist_dirty = true;
            self.leader_hint = None;
        }
        if self.role == Role::Leader {
            // A deposed leader has no running election timer; give it a fresh one.
            self.reset_election_timer();
        }
        self.role = Role::Follower;
    }

    fn propose(&mut self, command: Vec<u8>) -> (Index, Term, bool) {
        if self.role != Role::Leader {
            return (self.log.last_index() + 1, self.term, false);
        }
        self.log.push(Entry {
            term: self.term,
            command,
        });
        let index = self.log.last_index();
        self.mark_log_dirty(index);
        self.match_index[self.cfg.id] = index;
        // Replicate promptly (kvraft's speed test needs it) but let a burst coalesce: the driver
        // ticks us again at this same instant, after the caller is done.
        self.replicate_pending = true;
        if self.majority() == 1 {
            self.advance_commit();
        }
        (index, self.term, true)
    }

    fn take_snapshot(&mut self, index: Index, data: Vec<u8>) {
        if index <= self.log.base_index() || index > self.last_applied {
            return;
        }
        let term = self
            .log
            .term_at(index)
            .expect("applied entries after the snapshot are in the log");
        self.log.compact_to(index, term);
        self.snapshot = data;
        self.snapshot_dirty = true;
        self.persist_dirty = true;
    }

    fn broadcast_append(&mut self) {
        self.heartbeat_due = self.now + self.cfg.heartbeat_interval;
        self.replicate_pending = false;
        for p in self.peers().collect::<Vec<_>>() {
            self.send_append(p);
        }
    }

    /// AppendEntries with everything from `nextIndex`, or InstallSnapshot if that is compacted away.
    fn send_append(&mut self, to: NodeId) {
        let next = self.next_index[to].max(1);
        let msg = if next <= self.log.base_index() {
            Message::InstallSnapshot(InstallSnapshot {
                term: self.term,
                leader: self.cfg.id,
                last_included_index: self.log.base_index(),
                last_included_term: self.log.base_term(),
                data: self.snapshot.clone(),
            })
        } else {
            let prev = next - 1;
            Message::AppendEntries(AppendEntries {
                term: self.term,
                leader: self.cfg.id,
                prev_log_index: prev,
                prev_log_term: self
                    .log
                    .term_at(prev)
                    .expect("prev is at or after the base"),
                entries: self.log.from(next).to_vec(),
                leader_commit: self.commit_index,
            })
        };
        self.in_flight[to] = true;
        self.send(to, msg);
    }

    fn receive(&mut self, from: NodeId, msg: Message) {
        if from >= self.cfg.peers || from == self.cfg.id {
            return;
        }
        match msg {
            Message::RequestVote(m) => self.on_request_vote(from, m),
            Message::RequestVoteReply(m) => self.on_request_vote_reply(from, m),
            Message::AppendEntries(m) => self.on_append_entries(from, m),
            Message::AppendEntriesReply(m) => self.on_append_entries_reply(from, m),
            Message::InstallSnapshot(m) => self.on_install_snapshot(from, m),
            Message::InstallSnapshotReply(m) => self.on_install_snapshot_reply(from, m),
        }
    }

    fn on_request_vote(&mut self, from: NodeId, m: RequestVote) {
        if m.term > self.term {
            self.become_follower(m.term);
        }
        // Section 5.4.1: vote only for a candidate whose log is at least as up-to-date as ours.
        let up_to_date = (m.last_log_term, m.last_log_index)
            >= (self.log.last_term(), self.log.last_index())
            || self.cfg.mutation == Some(Mutation::GrantStaleVotes);
        let granted = m.term == self.term
            && (self.voted_for.is_none() || self.voted_for == Some(from))
            && up_to_date;
        if granted {
            if self.voted_for != Some(from) {
                self.voted_for = Some(from);
                self.persist_dirty = true;
            }
            if self.cfg.mutation != Some(Mutation::NoTimerResetOnVote) {
                self.reset_election_timer();
            }
        }
        let reply = RequestVoteReply {
            term: self.term,
            vote_granted: granted,
        };
        self.send(from, Message::RequestVoteReply(reply));
    }

    fn on_request_vote_reply(&mut self, from: NodeId, m: RequestVoteReply) {
        if m.term > self.term {
            self.become_follower(m.term);
            return;
        }
        if self.role != Role::Candidate || m.term != self.term || !m.vote_granted {
            return;
        }
        self.votes[from] = true;
        if self.votes.iter().filter(|v| **v).count() >= self.majority() {
            self.become_leader();
        }
    }

    fn on_append_entries(&mut self, from: NodeId, m: AppendEntries) {
        let mut reply = AppendEntriesReply {
            term: self.term,
            success: false,
            match_index: 0,
            x_term: 0,
            x_index: 0,
            x_len: 0,
        };
        if m.term < self.term {
            reply.x_len = self.log.last_index() + 1;
            self.send(from, Message::AppendEntriesReply(reply));
            return;
        }
        if m.term > self.term || self.role != Role::Follower {
            self.become_follower(m.term);
        }
        self.leader_hint = Some(from);
        self.reset_election_timer();
        reply.term = self.term;

        let mut prev = m.prev_log_index;
        let mut entries = &m.entries[..];
        if prev < self.log.base_index() {
            // Our snapshot covers a prefix of what was sent; it is committed, so it matches the
            // leader's log there (leader completeness, section 5.4), and we skip it.
            let skip = (self.log.base_index() - prev) as usize;
            if skip >= entries.len() {
                reply.success = true;
                reply.match_index = m.prev_log_index + m.entries.len() as Index;
                self.send(from, Message::AppendEntriesReply(reply));
                return;
            }
            entries = &entries[skip..];
            prev = self.log.base_index();
        } else if prev > self.log.last_index() {
            reply.x_len = self.log.last_index() + 1;
            self.send(from, Message::AppendEntriesReply(reply));
            return;
        } else if self.log.term_at(prev) != Some(m.prev_log_term) {
            // Consistency check failed (section 5.3): tell the leader where our conflicting term
            // starts so it can skip the whole term in one round trip.
            let x_term = self.log.term_at(prev).expect("prev is within the log");
            reply.x_term = x_term;
            reply.x_index = self.log.first_index_of_term_run(prev);
            reply.x_len = self.log.last_index() + 1;
            self.send(from, Message::AppendEntriesReply(reply));
            return;
        }

        if self.cfg.mutation == Some(Mutation::TruncateMatching) && prev < self.log.last_index() {
            self.log.truncate_from(prev + 1);
            self.mark_log_dirty(prev + 1);
        }
        // Append, truncating only at a real conflict: a stale or duplicated AppendEntries must not
        // cut off entries that a later one already delivered.
        for (k, e) in entries.iter().enumerate() {
            let index = prev + 1 + k as Index;
            match self.log.term_at(index) {
                Some(t) if t == e.term => continue,
                Some(_) if self.cfg.mutation == Some(Mutation::KeepConflicting) => continue,
                Some(_) => {
                    assert!(
                        index > self.commit_index,
                        "node {}: leader {} would overwrite committed index {} (commit {})",
                        self.cfg.id,
                        from,
                        index,
                        self.commit_index
                    );
                    self.log.truncate_from(index);
                }
                None => {}
            }
            for e in &entries[k..] {
                self.log.push(e.clone());
            }
            self.mark_log_dirty(index);
            break;
        }
        let last_new = prev + entries.len() as Index;
        if m.leader_commit > self.commit_index {
            self.commit_index = self.commit_index.max(m.leader_commit.min(last_new));
        }
        reply.success = true;
        reply.match_index = last_new;
        self.send(from, Message::AppendEntriesReply(reply));
    }

    fn on_append_entries_reply(&mut self, from: NodeId, m: AppendEntriesReply) {
        if m.term > self.term && self.cfg.mutation != Some(Mutation::IgnoreHigherTermReply) {
            self.become_follower(m.term);
            return;
        }
        if self.role != Role::Leader || m.term != self.term {
            return;
        }
        self.in_flight[from] = false;
        if m.success {
            if m.match_index > self.match_index[from] {
                self.match_index[from] = m.match_index;
                self.advance_commit();
            }
            self.next_index[from] = self.next_index[from].max(self.match_index[from] + 1);
            if self.next_index[from] <= self.log.last_index() {
                // Entries arrived while this one was in flight.
                self.send_append(from);
            }
            return;
        }
        // Fast backup (the lab's XTerm/XIndex/XLen): if we have entries of the follower's
        // conflicting term, resume after our last one; otherwise skip the follower's whole term;
        // if the follower's log was too short, resume at its end.
        let next = if m.x_term == 0 {
            m.x_len
        } else {
            match self.log.last_index_of_term(m.x_term) {
                Some(i) => i + 1,
                None => m.x_index,
            }
        };
        let next = next.clamp(self.match_index[from] + 1, self.log.last_index() + 1);
        if next != self.next_index[from] {
            self.next_index[from] = next;
            self.send_append(from);
        }
    }

    fn on_install_snapshot(&mut self, from: NodeId, m: InstallSnapshot) {
        let reply_to = |raft: &mut Raft| {
            let reply = InstallSnapshotReply {
                term: raft.term,
                last_included_index: m.last_included_index,
            };
            raft.send(from, Message::InstallSnapshotReply(reply));
        };
        if m.term < self.term {
            reply_to(self);
            return;
        }
        if m.term > self.term || self.role != Role::Follower {
            self.become_follower(m.term);
        }
        self.leader_hint = Some(from);
        self.reset_election_timer();
        let (lii, lit) = (m.last_included_index, m.last_included_term);
        if lii > self.commit_index {
            // Section 7: keep the entries after the snapshot if our log has its last entry;
            // otherwise the whole log is superseded.
            if self.log.term_at(lii) == Some(lit)
                || self.cfg.mutation == Some(Mutation::SnapshotKeepsConflicting)
            {
                self.log.compact_to(lii, lit);
            } else {
                self.log = Log::new(lii, lit, Vec::new());
            }
            self.mark_log_dirty(lii + 1);
            self.snapshot.clone_from(&m.data);
            self.snapshot_dirty = self.cfg.mutation != Some(Mutation::SnapshotNotPersisted);
            self.commit_index = lii;
            self.last_applied = lii;
            self.applies.push(ApplyMsg::Snapshot {
                index: lii,
                term: lit,
                data: m.data.clone(),
            });
        }
        reply_to(self);
    }

    fn on_install_snapshot_reply(&mut self, from: NodeId, m: InstallSnapshotReply) {
        if m.term > self.term {
            self.become_follower(m.term);
            return;
        }
        if self.role != Role::Leader || m.term != self.term {
            return;
        }
        self.in_flight[from] = false;
        if m.last_included_index > self.match_index[from] {
            self.match_index[from] = m.last_included_index;
            self.advance_commit();
        }
        self.next_index[from] = self.next_index[from].max(self.match_index[from] + 1);
        if self.next_index[from] <= self.log.last_index() {
            self.send_append(from);
        }
    }

    /// Figure 2, "Leaders": commit the highest index replicated on a majority, but only if its entry
    /// is from the current term (section 5.4.2; earlier entries commit indirectly).
    fn advance_commit(&mut self) {
        let mut matched = self.match_index.clone();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let n = matched[self.majority() - 1];
        let current_term = self.log.term_at(n) == Some(self.term);
        if n > self.commit_index
            && (current_term || self.cfg.mutation == Some(Mutation::CommitPreviousTerms))
        {
            self.commit_index = n;
        }
    }
}
