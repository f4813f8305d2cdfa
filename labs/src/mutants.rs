//! The mutant catalog: classic bugs of each system, put back on purpose, off by default.
//!
//! A harness that has never failed proves nothing. Each [`MutantInfo`] names one known bug, says
//! what it breaks (the paper section or lab hint), and maps to a system's `Mutation` switch, which
//! the lab's world hands to the servers it builds when [`crate::runner::RunOptions::mutant`] says
//! so. `quill test <lab> --mutant NAME` runs a catalog with it, so a student can see what the bug
//! looks like and which check catches it; the tests assert that each is caught.
//!
//! A Raft mutant also applies inside kvraft runs, whose servers run Raft.

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

    /// Whether runs of catalog `lab` can carry this mutant (a Raft bug runs in kvraft too).
    pub fn applies_to(&self, lab: &str) -> bool {
        match self.mutant {
            Mutant::Raft(_) => lab == "raft" || lab == "kvraft",
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
