//! [`Recorder`]: the client history of one run, as it is being recorded.
//!
//! Times are **virtual nanoseconds**: the millisecond of the simulator's clock times 10^6, plus a
//! counter that orders the records made within that millisecond. A reliable network delivers in
//! zero virtual time, so many calls and returns share a millisecond; the counter keeps the order in
//! which the simulator actually ran them, which is a causal order (a server executes a request
//! after its call was recorded and before its reply is recorded), so the history is exact rather
//! than coarsened into overlapping intervals.
//!
//! Faults are annotations on a lane tagged `"faults"`: an instant (a crash) or a span (a partition,
//! until it is healed). The run writes them ([`crate::run::Core::apply`]); labs record operations.

use std::collections::BTreeMap;

use checker::{Annotation, History, Operation};
use sim::Time;

/// The history of one run as it is being recorded.
pub struct Recorder<I, O> {
    ops: Vec<Operation<I, O>>,
    annotations: Vec<Annotation>,
    /// Faults that last (a partition) until ended: their kind, start and text.
    open: BTreeMap<String, (i64, String)>,
    last_ms: Time,
    tick: i64,
}

impl<I, O> Default for Recorder<I, O> {
    fn default() -> Self {
        Recorder {
            ops: Vec::new(),
            annotations: Vec::new(),
            open: BTreeMap::new(),
            last_ms: 0,
            tick: 0,
        }
    }
}

impl<I, O> Recorder<I, O> {
    /// The history time of a record made now: see the module documentation.
    fn stamp(&mut self, now: Time) -> i64 {
        if now != self.last_ms {
            self.last_ms = now;
            self.tick = 0;
        }
        self.tick += 1;
        assert!(
            self.tick < 1_000_000,
            "more than a million records in one virtual millisecond"
        );
        now as i64 * 1_000_000 + self.tick
    }

    /// Records a call; returns the operation's index for [`Recorder::ret`].
    pub fn call(&mut self, client: u64, now: Time, input: I) -> usize {
        let call = self.stamp(now);
        self.ops.push(Operation::pending(client, call, input));
        self.ops.len() - 1
    }

    /// Records the return of operation `op`.
    pub fn ret(&mut self, op: usize, now: Time, output: O) {
        let t = self.stamp(now);
        let o = &mut self.ops[op];
        o.ret = Some(t);
        o.output = Some(output);
    }

    /// A fault that happens at one instant (a crash, a restart).
    pub fn fault(&mut self, now: Time, text: impl Into<String>) {
        let t = self.stamp(now);
        self.annotations.push(Annotation {
            client: None,
            tag: Some("faults".into()),
            start: t,
            end: t,
            text: text.into(),
        });
    }

    /// A fault that lasts until [`Recorder::fault_end`] with the same `kind` (or the next begin).
    pub fn fault_begin(&mut self, now: Time, kind: &str, text: impl Into<String>) {
        self.fault_end(now, kind);
        let t = self.stamp(now);
        self.open.insert(kind.to_string(), (t, text.into()));
    }

    pub fn fault_end(&mut self, now: Time, kind: &str) {
        if let Some((start, text)) = self.open.remove(kind) {
            let end = self.stamp(now);
            self.annotations.push(Annotation {
                client: None,
                tag: Some("faults".into()),
                start,
                end,
                text,
            });
        }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The finished history; faults still open end at `now`.
    pub fn finish(mut self, now: Time) -> History<I, O> {
        let kinds: Vec<String> = self.open.keys().cloned().collect();
        for k in kinds {
            self.fault_end(now, &k);
        }
        History {
            operations: self.ops,
            annotations: self.annotations,
        }
    }
}
