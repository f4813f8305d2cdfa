//! Durable storage of one host (raft/persister.go).

/// What a host has made durable: the Raft state and the service snapshot, saved together.
///
/// The Go `Persister.Save(raftstate, snapshot)` replaces both atomically; here
/// [`Persister::save`] takes the snapshot as an `Option` so that callers whose snapshot did not
/// change need not copy it again (`None` keeps the current one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Persister {
    raft_state: Vec<u8>,
    snapshot: Vec<u8>,
}

impl Persister {
    /// Saves the raft state and, if given, the snapshot, as one atomic write.
    pub fn save(&mut self, raft_state: Vec<u8>, snapshot: Option<Vec<u8>>) {
        self.raft_state = raft_state;
        if let Some(snapshot) = snapshot {
            self.snapshot = snapshot;
        }
    }
    pub fn raft_state(&self) -> &[u8] {
        &self.raft_state
    }
    pub fn snapshot(&self) -> &[u8] {
        &self.snapshot
    }
    /// `RaftStateSize()`: what `maxraftstate` is compared with.
    pub fn raft_state_size(&self) -> usize {
        self.raft_state.len()
    }
    pub fn snapshot_size(&self) -> usize {
        self.snapshot.len()
    }
}
