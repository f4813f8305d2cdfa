//! The job's shared directory, simulated: files, atomic rename, and the crash semantics a real
//! directory gives.
//!
//! A write creates or replaces a whole file in one step and a rename moves a whole file in one
//! step, so a worker that crashes between two of its steps leaves exactly what it had done: its
//! temporary files stay, and any file it renamed into place is whole. Reads see whole files.
//!
//! # The invariant it checks
//! A *final* file is a job file that readers rely on: an intermediate `mr-X-Y` or an output
//! `mr-out-Y`. Once a final file is in place its contents must never change: a later rename onto
//! it (a backup task finishing) must bring the same bytes, and nothing may write, remove or
//! rename it away; and a final file only ever appears by a rename, never by a write in place
//! (which a crash or a reader could catch half-written). Every breach is recorded with the time
//! and the file, for the world to fail on.

use std::collections::BTreeMap;
use std::sync::Arc;

use mapreduce::{Got, IoError};
use sim::Time;

/// Whether `name` is a final job file (`mr-X-Y` or `mr-out-Y`).
pub fn is_final(name: &str) -> bool {
    if let Some(y) = name.strip_prefix("mr-out-") {
        return !y.is_empty() && y.bytes().all(|b| b.is_ascii_digit());
    }
    let Some(rest) = name.strip_prefix("mr-") else {
        return false;
    };
    let mut parts = rest.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(x), Some(y), None)
            if !x.is_empty() && !y.is_empty()
                && x.bytes().all(|b| b.is_ascii_digit())
                && y.bytes().all(|b| b.is_ascii_digit())
    )
}

/// A simulated directory.
#[derive(Default)]
pub struct SimFs {
    files: BTreeMap<String, Arc<[u8]>>,
    /// Breaches of the final-file invariant, oldest first.
    pub violations: Vec<String>,
    /// Operations carried out (for the summary's "commands" column).
    pub ops: u64,
}

fn missing(op: &'static str, path: &str) -> IoError {
    IoError {
        op,
        path: path.to_string(),
        message: "no such file or directory".to_string(),
    }
}

impl SimFs {
    pub fn insert(&mut self, name: &str, bytes: Arc<[u8]>) {
        self.files.insert(name.to_string(), bytes);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<[u8]>> {
        self.files.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.files.keys()
    }

    /// The contents of every file whose name starts with `prefix`, in name order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.files
            .range(prefix.to_string()..)
            .take_while(move |(n, _)| n.starts_with(prefix))
            .map(|(_, f)| &f[..])
    }

    fn breach(&mut self, now: Time, what: String) {
        self.violations.push(format!("at {now} ms: {what}"));
    }

    pub fn read(&mut self, path: &str) -> Got {
        self.ops += 1;
        Got::Bytes(
            self.files
                .get(path)
                .cloned()
                .ok_or_else(|| missing("read", path)),
        )
    }

    pub fn write(&mut self, now: Time, path: &str, bytes: Vec<u8>) -> Got {
        self.ops += 1;
        if is_final(path) {
            self.breach(
                now,
                format!("{path} was written in place, not renamed into place"),
            );
        }
        self.files.insert(path.to_string(), Arc::from(bytes));
        Got::Done(Ok(()))
    }

    pub fn rename(&mut self, now: Time, from: &str, to: &str) -> Got {
        self.ops += 1;
        let Some(f) = self.files.remove(from) else {
            return Got::Done(Err(missing("rename", from)));
        };
        if is_final(from) {
            self.breach(now, format!("{from} was renamed away"));
        }
        if let Some(old) = self.files.get(to) {
            if is_final(to) && old[..] != f[..] {
                self.breach(
                    now,
                    format!(
                        "{to} changed after it was in place ({} bytes replaced by {} other bytes)",
                        old.len(),
                        f.len()
                    ),
                );
            }
        }
        self.files.insert(to.to_string(), f);
        Got::Done(Ok(()))
    }

    pub fn remove(&mut self, now: Time, path: &str) -> Got {
        self.ops += 1;
        if is_final(path) && self.files.contains_key(path) {
            self.breach(now, format!("{path} was removed"));
        }
        match self.files.remove(path) {
            Some(_) => Got::Done(Ok(())),
            None => Got::Done(Err(missing("remove", path))),
        }
    }

    pub fn list(&mut self) -> Got {
        self.ops += 1;
        Got::Names(self.files.keys().cloned().collect())
    }
}
