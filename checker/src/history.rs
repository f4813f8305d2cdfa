//! Histories: what clients did and saw.
//!
//! A history is a list of [`Operation`]s, each with the time its call was issued and the time its response
//! arrived. Intervals are *closed*: an operation whose call time equals another's return time overlaps it,
//! so the two are concurrent and may be linearized in either order. This is the safe reading for timestamps
//! of limited resolution, where "same tick" says nothing about which happened first.
//!
//! An operation with no response (`ret == None`) may have taken effect at any instant after its call, or
//! never; its output is unknown and never checked. An operation marked `failed` is known to have had no
//! effect: the check ignores it, and it is kept only so that a timeline can show it.
//!
//! Histories also come as ordered [`Event`]s (calls and returns matched by id, with no timestamps); the
//! position of an event is its time. [`History::from_events`] and [`History::to_events`] convert.

use serde::{Deserialize, Serialize};

use crate::error::HistoryError;

/// A logical client (process): issues one operation at a time.
pub type ClientId = u64;

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation<I, O> {
    pub client: ClientId,
    /// When the call was issued (any integer unit).
    pub call: i64,
    /// When the response arrived; `None` when it never did.
    #[serde(rename = "return")]
    pub ret: Option<i64>,
    pub input: I,
    /// The response; `None` when there was none (then it is not checked).
    pub output: Option<O>,
    /// Known to have had no effect (for example a request the server rejected before doing anything).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

impl<I, O> Operation<I, O> {
    /// A completed operation.
    pub fn new(client: ClientId, call: i64, ret: i64, input: I, output: O) -> Self {
        Operation {
            client,
            call,
            ret: Some(ret),
            input,
            output: Some(output),
            failed: false,
        }
    }

    /// An operation that never got a response.
    pub fn pending(client: ClientId, call: i64, input: I) -> Self {
        Operation {
            client,
            call,
            ret: None,
            input,
            output: None,
            failed: false,
        }
    }

    /// True when the operation got a response and its output is checked.
    pub fn is_complete(&self) -> bool {
        self.ret.is_some() && !self.failed
    }
}

/// A note on the timeline that is not an operation: a fault injected by a nemesis, a partition, a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// Drawn on this client's lane, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientId>,
    /// Drawn on a lane of its own with this name (e.g. "nemesis"), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub start: i64,
    pub end: i64,
    pub text: String,
}

/// A history: operations, and annotations kept for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History<I, O> {
    pub operations: Vec<Operation<I, O>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        History {
            operations: Vec::new(),
            annotations: Vec::new(),
        }
    }
}

impl<I, O> History<I, O> {
    pub fn new(operations: Vec<Operation<I, O>>) -> Self {
        History {
            operations,
            annotations: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Checks the shape of the history: every return at or after its call, and no client with two
    /// operations outstanding at once (which would make its operations concurrent with themselves).
    pub fn validate(&self) -> Result<(), HistoryError> {
        for (index, op) in self.operations.iter().enumerate() {
            if let Some(ret) = op.ret {
                if ret < op.call {
                    return Err(HistoryError::ReturnBeforeCall {
                        index,
                        call: op.call,
                        ret,
                    });
                }
            }
            if op.ret.is_some() && op.output.is_none() && !op.failed {
                return Err(HistoryError::MissingOutput { index });
            }
        }
        Ok(())
    }

    /// Converts to ordered events: calls and returns sorted by time, calls before returns at equal times
    /// (so that closed intervals stay overlapping), ties broken by operation index.
    pub fn to_events(&self) -> Vec<Event<I, O>>
    where
        I: Clone,
        O: Clone,
    {
        let mut stamped: Vec<(i64, u8, usize)> = Vec::with_capacity(self.operations.len() * 2);
        for (id, op) in self.operations.iter().enumerate() {
            stamped.push((op.call, 0, id));
            if let Some(ret) = op.ret {
                stamped.push((ret, 1, id));
            }
        }
        stamped.sort_unstable();
        stamped
            .into_iter()
            .map(|(_, kind, id)| {
                let op = &self.operations[id];
                let kind = if kind == 0 {
                    EventKind::Call(op.input.clone())
                } else {
                    EventKind::Return(op.output.clone())
                };
                Event {
                    id,
                    client: op.client,
                    kind,
                    failed: op.failed,
                }
            })
            .collect()
    }

    /// Builds a history from ordered events; an event's position is its time. Errors name the event.
    pub fn from_events(events: Vec<Event<I, O>>) -> Result<Self, HistoryError> {
        use std::collections::HashMap;
        let mut by_id: HashMap<usize, usize> = HashMap::new();
        let mut outstanding: HashMap<ClientId, usize> = HashMap::new();
        let mut operations: Vec<Operation<I, O>> = Vec::new();
        for (position, event) in events.into_iter().enumerate() {
            let time = position as i64;
            match event.kind {
                EventKind::Call(input) => {
                    if by_id.contains_key(&event.id) {
                        return Err(HistoryError::DuplicateCall {
                            event: position,
                            id: event.id,
                        });
                    }
                    if let Some(&other) = outstanding.get(&event.client) {
                        return Err(HistoryError::ClientBusy {
                            event: position,
                            client: event.client,
                            outstanding: other,
                        });
                    }
                    outstanding.insert(event.client, event.id);
                    by_id.insert(event.id, operations.len());
                    operations.push(Operation {
                        client: event.client,
                        call: time,
                        ret: None,
                        input,
                        output: None,
                        failed: event.failed,
                    });
                }
                EventKind::Return(output) => {
                    let Some(&index) = by_id.get(&event.id) else {
                        return Err(HistoryError::ReturnWithoutCall {
                            event: position,
                            id: event.id,
                        });
                    };
                    let op = &mut operations[index];
                    if op.ret.is_some() {
                        return Err(HistoryError::DuplicateReturn {
                            event: position,
                            id: event.id,
                        });
                    }
                    op.ret = Some(time);
                    op.failed |= event.failed;
                    op.output = output;
                    outstanding.remove(&op.client);
                }
            }
        }
        Ok(History {
            operations,
            annotations: Vec::new(),
        })
    }
}

/// One event of an ordered history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<I, O> {
    /// Matches a call with its return.
    pub id: usize,
    pub client: ClientId,
    pub kind: EventKind<I, O>,
    /// The operation is known to have had no effect.
    pub failed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind<I, O> {
    Call(I),
    /// The output; `None` for a return that carries no usable result.
    Return(Option<O>),
}
