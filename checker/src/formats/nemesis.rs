//! Fault injection in Jepsen histories (the `:nemesis` process, or any process that is not a number):
//! its events become annotations on a lane of their own, never operations.
//!
//! An invocation and the next event of the same process with the same `:f` form one interval (from the
//! first to the second). Older Jepsen logs both halves as `:info`, so an `:info` with nothing open starts an
//! interval too. The completion usually says what was done and the invocation what was asked: the interval
//! shows the completion's value, or the invocation's when the completion has none. An event that nothing
//! completes is shown as a point.

use std::collections::BTreeMap;

use crate::history::Annotation;

/// The nemesis lanes of a history being read.
#[derive(Default)]
pub(crate) struct Nemesis {
    /// Per process, the interval it has open: (start, its `:f`, its text). A BTreeMap so that the
    /// annotations come out in the same order every run.
    open: BTreeMap<String, (i64, String, String)>,
    annotations: Vec<Annotation>,
}

/// What kind of event a nemesis logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultEvent {
    Invoke,
    Complete,
    Info,
}

impl Nemesis {
    /// One event of `process` at `time`: `f` is its `:f`, `text` what to show, `has_value` whether its
    /// `:value` says something.
    pub(crate) fn event(
        &mut self,
        process: &str,
        kind: FaultEvent,
        f: &str,
        text: String,
        has_value: bool,
        time: i64,
    ) {
        match self.open.remove(process) {
            Some((start, started_f, started_text))
                if started_f == f && kind != FaultEvent::Invoke =>
            {
                let text = if has_value { text } else { started_text };
                self.annotations.push(fault(process, start, time, text));
                return;
            }
            Some((start, _, started_text)) => {
                self.annotations
                    .push(fault(process, start, start, started_text))
            }
            None => {}
        }
        if kind == FaultEvent::Complete {
            self.annotations.push(fault(process, time, time, text));
        } else {
            self.open
                .insert(process.to_string(), (time, f.to_string(), text));
        }
    }

    /// Client notes (an `:info` about nothing a client invoked) go on the client's lane.
    pub(crate) fn note(&mut self, annotation: Annotation) {
        self.annotations.push(annotation);
    }

    /// The annotations, in time order; intervals left open are points at their start.
    pub(crate) fn finish(mut self) -> Vec<Annotation> {
        for (process, (start, _, text)) in std::mem::take(&mut self.open) {
            self.annotations.push(fault(&process, start, start, text));
        }
        self.annotations.sort_by_key(|a| (a.start, a.end));
        self.annotations
    }
}

fn fault(process: &str, start: i64, end: i64, text: String) -> Annotation {
    Annotation {
        client: None,
        tag: Some(process.to_string()),
        start,
        end,
        text,
    }
}
