//! [`Seen`]: what a host saw its Raft node handle and send, for the invariants that need more than
//! the node's state after a step.
//!
//! Two facts are invisible in a node's state: the term of the message a step handled (for "a
//! higher term is never ignored") and whether the step restarted the election timer as Figure 2's
//! "Followers" rule says it must: on an AppendEntries from the current leader (one whose term is
//! at least the receiver's; an InstallSnapshot from it counts the same, section 7) or on granting a
//! vote. The host records both from the messages it delivers and sends, so the check does not
//! trust the node's own timer, which is what a bug gets wrong.

use raft::Message;

/// The term a Raft message carries.
pub fn message_term(m: &Message) -> u64 {
    use raft::Message as M;
    match m {
        M::RequestVote(x) => x.term,
        M::RequestVoteReply(x) => x.term,
        M::AppendEntries(x) => x.term,
        M::AppendEntriesReply(x) => x.term,
        M::InstallSnapshot(x) => x.term,
        M::InstallSnapshotReply(x) => x.term,
    }
}

/// Why Figure 2 says a follower's election timer starts again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerReset {
    /// It received AppendEntries (or InstallSnapshot) from a leader of a term at least its own.
    HeardLeader,
    /// It granted a vote.
    GrantedVote,
}

impl TimerReset {
    pub fn describe(self) -> &'static str {
        match self {
            TimerReset::HeardLeader => "hearing from the leader",
            TimerReset::GrantedVote => "granting a vote",
        }
    }
}

/// What a host saw of its node's steps since the invariants last looked (see the module
/// documentation). Merged over steps: the highest term, the last timer reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// The highest term of the Raft messages handled.
    pub msg_term: Option<u64>,
    /// The last event that restarts the election timer, if any.
    pub timer_reset: Option<TimerReset>,
}

impl Seen {
    /// The node, at term `term`, is about to handle `msg`.
    pub fn before(&mut self, term: u64, msg: &Message) {
        let t = message_term(msg);
        self.msg_term = Some(self.msg_term.map_or(t, |m| m.max(t)));
        let from_leader = matches!(msg, Message::AppendEntries(_) | Message::InstallSnapshot(_));
        if from_leader && t >= term {
            self.timer_reset = Some(TimerReset::HeardLeader);
        }
    }

    /// The node sent `msg` (a granted vote restarts its timer).
    pub fn sent(&mut self, msg: &Message) {
        if let Message::RequestVoteReply(r) = msg {
            if r.vote_granted {
                self.timer_reset = Some(TimerReset::GrantedVote);
            }
        }
    }

    /// What was seen since the previous call.
    pub fn take(&mut self) -> Seen {
        std::mem::take(self)
    }
}
