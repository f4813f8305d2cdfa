//! The mutant catalog: classic bugs of each system, put back on purpose, off by default.
//!
//! A harness that has never failed proves nothing. Each [`MutantInfo`] names one known bug, says
//! what it breaks (the paper section or lab hint), and maps to a system's `Mutation` switch, which
//! the lab's world hands to the servers it builds when [`crate::runner::RunOptions::mutant`] says
//! so. `quill test <lab> --mutant NAME` runs a catalog with it, so a student can see what the bug
//! looks like and which check catches it; the tests assert that each is caught.
//!
//! A Raft mutant also applies inside kvraft, shardctrler and shardkv runs, whose servers run Raft.

use std::fmt;

/// A bug put back into one system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutant {
    Raft(raft::Mutation),
    Kvsrv(kvsrv::Mutation),
    Kvraft(kvraft::Mutation),
    Mr(mapreduce::Mutation),
    Shardkv(shardkv::Mutation),
    Shardctrler(shardctrler::Mutation),
}

/// A catalog entry.
#[derive(Clone, Copy, Debug)]
pub struct MutantInfo {
    /// The name `--mutant` takes (kebab-case).
    pub name: &'static str,
    pub mutant: Mutant,
    /// What the bug does, in one line.
    pub description: &'static str,
    /// The rule it breaks.
    pub breaks: &'static str,
}

impl MutantInfo {
    /// The system whose code the bug is in.
    pub fn system(&self) -> &'static str {
        match self.mutant {
            Mutant::Raft(_) => "raft",
            Mutant::Kvsrv(_) => "kvsrv",
            Mutant::Kvraft(_) => "kvraft",
            Mutant::Mr(_) => "mr",
            Mutant::Shardkv(_) => "shardkv",
            Mutant::Shardctrler(_) => "shardctrler",
        }
    }

    /// Whether runs of catalog `lab` can carry this mutant (a Raft bug runs in every lab whose
    /// servers run Raft).
    pub fn applies_to(&self, lab: &str) -> bool {
        match self.mutant {
            Mutant::Raft(_) => matches!(lab, "raft" | "kvraft" | "shardctrler" | "shardkv"),
            Mutant::Kvsrv(_) => lab == "kvsrv",
            Mutant::Kvraft(_) => lab == "kvraft",
            Mutant::Mr(_) => lab == "mr",
            Mutant::Shardkv(_) => lab == "shardkv",
            // The controller runs in both shard catalogs.
            Mutant::Shardctrler(_) => lab == "shardctrler" || lab == "shardkv",
        }
    }
}

impl fmt::Display for MutantInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Every mutant, by system.
pub fn catalog() -> Vec<MutantInfo> {
    use Mutant::{Kvraft, Kvsrv, Mr, Raft, Shardkv};
    vec![
        MutantInfo {
            name: "commit-previous-terms",
            mutant: Raft(raft::Mutation::CommitPreviousTerms),
            description: "a leader commits an entry of an earlier term by counting its replicas",
            breaks: "Raft paper, section 5.4.2 (Figure 8)",
        },
        MutantInfo {
            name: "grant-stale-votes",
            mutant: Raft(raft::Mutation::GrantStaleVotes),
            description: "votes are granted without the candidate's log being up to date",
            breaks: "Raft paper, section 5.4.1 (election restriction)",
        },
        MutantInfo {
            name: "forget-vote",
            mutant: Raft(raft::Mutation::ForgetVote),
            description:
                "votedFor is not persisted, so a restarted server may vote twice in a term",
            breaks: "Raft paper, Figure 2 (persistent state)",
        },
        MutantInfo {
            name: "forget-term",
            mutant: Raft(raft::Mutation::ForgetTerm),
            description: "currentTerm is not persisted: a restarted server rebuilds it from its last log entry",
            breaks: "Raft paper, Figure 2 (persistent state; terms increase monotonically)",
        },
        MutantInfo {
            name: "truncate-matching",
            mutant: Raft(raft::Mutation::TruncateMatching),
            description: "a follower truncates after prevLogIndex even where its entries match the leader's",
            breaks: "Raft paper, Figure 2 (AppendEntries receiver, step 3: truncate only at a conflict)",
        },
        MutantInfo {
            name: "keep-conflicting",
            mutant: Raft(raft::Mutation::KeepConflicting),
            description: "a follower keeps its own entry where the leader's conflicts and appends the rest after it",
            breaks: "Raft paper, Figure 2 (AppendEntries receiver, step 3: delete the conflicting entry and all after it)",
        },
        MutantInfo {
            name: "ignore-higher-term-reply",
            mutant: Raft(raft::Mutation::IgnoreHigherTermReply),
            description: "a leader ignores a higher term in an AppendEntries reply and stays leader",
            breaks: "Raft paper, Figure 2 (All Servers: a higher term in a reply converts to follower)",
        },
        MutantInfo {
            name: "no-timer-reset-on-vote",
            mutant: Raft(raft::Mutation::NoTimerResetOnVote),
            description: "granting a vote does not restart the election timer",
            breaks: "Raft paper, Figure 2 (Followers) and the lab 3A hint on resetting the timer",
        },
        MutantInfo {
            name: "snapshot-keeps-conflicting",
            mutant: Raft(raft::Mutation::SnapshotKeepsConflicting),
            description: "InstallSnapshot keeps the entries after the snapshot although the log does not match its last entry",
            breaks: "Raft paper, section 7 / Figure 13 (InstallSnapshot receiver, steps 6-7)",
        },
        MutantInfo {
            name: "snapshot-not-persisted",
            mutant: Raft(raft::Mutation::SnapshotNotPersisted),
            description: "InstallSnapshot persists the compacted log but not the snapshot it installed",
            breaks: "Raft paper, section 7 (the snapshot is saved with the state); lab 3D: persister.Save",
        },
        MutantInfo {
            name: "kvsrv-no-duplicate-detection",
            mutant: Kvsrv(kvsrv::Mutation::NoDuplicateDetection),
            description: "every retransmitted write is executed again",
            breaks: "lab 2 hint: at-most-once semantics for retried Puts and Appends",
        },
        MutantInfo {
            name: "kvraft-local-reads",
            mutant: Kvraft(kvraft::Mutation::LocalReads),
            description: "a leader answers Get from its own state, without a log entry",
            breaks: "Raft paper, section 8 (read-only operations must not return stale data)",
        },
        MutantInfo {
            name: "kvraft-no-duplicate-detection",
            mutant: Kvraft(kvraft::Mutation::NoDuplicateDetection),
            description: "every committed write is executed, even a retry the duplicate table has seen",
            breaks: "lab 4A hint: detect duplicate client requests (at-most-once semantics)",
        },
        MutantInfo {
            name: "kvraft-snapshot-without-dups",
            mutant: Kvraft(kvraft::Mutation::SnapshotWithoutDups),
            description: "snapshots carry the store but not the duplicate table",
            breaks: "lab 4B hint: the snapshot must hold the duplicate-detection state",
        },
        MutantInfo {
            name: "kvraft-wrong-op-reply",
            mutant: Kvraft(kvraft::Mutation::WrongOpReply),
            description: "the request waiting at an index gets the result of whatever committed there",
            breaks: "lab 4A hint: a leader must check the applied entry is the one it proposed",
        },
        MutantInfo {
            name: "mr-reissue-early",
            mutant: Mr(mapreduce::Mutation::ReissueEarly),
            description: "the coordinator re-issues a task after 1 s instead of 10 s",
            breaks: "lab 1: backup tasks must wait 10 s (job count: no map runs twice)",
        },
        MutantInfo {
            name: "mr-write-in-place",
            mutant: Mr(mapreduce::Mutation::WriteInPlace),
            description:
                "a reducer writes mr-out-Y in place, without a temporary file and a rename",
            breaks: "lab 1 hint: write a temporary file and rename it atomically",
        },
        MutantInfo {
            name: "shardkv-serve-before-data",
            mutant: Shardkv(shardkv::Mutation::ServeBeforeData),
            description: "a group serves a gained shard before the shard's data has arrived",
            breaks: "lab 5B: wait for a gained shard's data before serving it",
        },
        MutantInfo {
            name: "shardkv-forget-dups",
            mutant: Shardkv(shardkv::Mutation::ForgetDups),
            description: "a migrated shard is installed without its duplicate table",
            breaks: "lab 5B: at-most-once semantics across shard migration",
        },
        MutantInfo {
            name: "shardkv-skip-configs",
            mutant: Shardkv(shardkv::Mutation::SkipConfigs),
            description: "a group jumps to the latest config without finishing the hand-overs of the ones between",
            breaks: "lab 5B: apply configurations one at a time, in order",
        },
        MutantInfo {
            name: "shardctrler-follower-queries",
            mutant: Mutant::Shardctrler(shardctrler::Mutation::FollowerQueries),
            description: "a controller server that is not the leader answers Query from the configs it has applied",
            breaks: "lab 5A: Query must reflect every completed Join, Leave and Move",
        },
    ]
}

/// The mutant named `name`, if any.
pub fn find(name: &str) -> Option<MutantInfo> {
    catalog().into_iter().find(|m| m.name == name)
}

impl RunMutant for Option<Mutant> {
    fn raft(&self) -> Option<raft::Mutation> {
        match self {
            Some(Mutant::Raft(m)) => Some(*m),
            _ => None,
        }
    }
    fn kvsrv(&self) -> Option<kvsrv::Mutation> {
        match self {
            Some(Mutant::Kvsrv(m)) => Some(*m),
            _ => None,
        }
    }
    fn kvraft(&self) -> Option<kvraft::Mutation> {
        match self {
            Some(Mutant::Kvraft(m)) => Some(*m),
            _ => None,
        }
    }
    fn mr(&self) -> Option<mapreduce::Mutation> {
        match self {
            Some(Mutant::Mr(m)) => Some(*m),
            _ => None,
        }
    }
    fn shardkv(&self) -> Option<shardkv::Mutation> {
        match self {
            Some(Mutant::Shardkv(m)) => Some(*m),
            _ => None,
        }
    }
    fn shardctrler(&self) -> Option<shardctrler::Mutation> {
        match self {
            Some(Mutant::Shardctrler(m)) => Some(*m),
            _ => None,
        }
    }
}

/// The system switch a run's mutant sets, for each system's servers.
pub trait RunMutant {
    fn raft(&self) -> Option<raft::Mutation>;
    fn kvsrv(&self) -> Option<kvsrv::Mutation>;
    fn kvraft(&self) -> Option<kvraft::Mutation>;
    fn mr(&self) -> Option<mapreduce::Mutation>;
    fn shardkv(&self) -> Option<shardkv::Mutation>;
    fn shardctrler(&self) -> Option<shardctrler::Mutation>;
}
