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

use std::collections::{BTreeMap, HashMap};

use raft::Raft;

use super::world::Cmd;
use sim::HostId;

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
}

impl Invariants {
    pub fn new(n: usize) -> Self {
        Invariants {
            leaders: BTreeMap::new(),
            entries: HashMap::new(),
            committed: BTreeMap::new(),
            seen_leader_term: vec![None; n],
            commit_seen: vec![0; n],
        }
    }

    /// A fresh instance runs on `host`; its whole log will be re-checked.
    pub fn restarted(&mut self, host: HostId) {
        self.seen_leader_term[host] = None;
        self.commit_seen[host] = 0;
    }

    /// Records an applied command.
    pub fn committed(&mut self, index: u64, command: &Cmd) {
        self.committed.entry(index).or_insert_with(|| fnv(command));
    }

    /// Checks host `h` after it handled an event. Returns the term if `h` just became its leader.
    pub fn after_step(&mut self, h: HostId, raft: &mut Raft) -> Result<Option<u64>, String> {
        // State machine safety (section 5.4.3), through the commit index.
        let commit = raft.commit_index();
        if commit > self.commit_seen[h] {
            if commit > raft.last_log_index() {
                return Err(format!(
                    "commit index passes the log (Raft paper, Figure 2): server {h} has commit index \
                     {commit} but its last entry is {}",
                    raft.last_log_index()
                ));
            }
            let from = self.commit_seen[h].max(raft.snapshot_index()) + 1;
            for index in from..=commit {
                let hash = fnv(&raft.log_entry(index).expect("index within the log").command);
                match self.committed.get(&index) {
                    None => {
                        self.committed.insert(index, hash);
                    }
                    Some(&seen) if seen != hash => {
                        return Err(format!(
                            "state machine safety violated (Raft paper, section 5.4.3): server {h} \
                             committed a different command at index {index} than another server"
                        ));
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
                        return Err(format!(
                            "log matching violated (Raft paper, section 5.3): server {h} has entry {index}/t{} \
                             with {} but another log has a different {}",
                            entry.term,
                            if hash != seen.0 { "a command" } else { "a previous entry" },
                            if hash != seen.0 { "command" } else { "previous term" },
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        // Election safety (section 5.2) and leader completeness (section 5.4).
        let (term, leader) = raft.state();
        let mut new_leader = None;
        if leader && self.seen_leader_term[h] != Some(term) {
            self.seen_leader_term[h] = Some(term);
            if let Some(&other) = self.leaders.get(&term) {
                if other != h {
                    return Err(format!(
                        "election safety violated (Raft paper, section 5.2): servers {other} and {h} are both leaders of term {term}"
                    ));
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
                    return Err(format!(
                        "leader completeness violated (Raft paper, section 5.4): server {h} leads term {term} \
                         without committed entry {index}"
                    ));
                }
            }
        }
        Ok(new_leader)
    }
}
