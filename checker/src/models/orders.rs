//! The orders that the values of a register history force ([`crate::Model::value_orders`] of `register`
//! and `cas-register`), and the short quoting of values in the sentences that give them.
//!
//! A register holds one value, and a write replaces it. So the last write before a read wrote the value
//! the read saw. Real time rules some writers of that value out as that last write: one called after the
//! read returned, and one after which a certain write was called that returned before the read was called
//! (that write always comes between them); the initial value is ruled out by any certain write that
//! returned before the read was called. When exactly one writer is left (and the initial value is another
//! or ruled out), that write came before the read (write-read: [`ValueReason::Observed`] when it is the
//! only writer at all, [`ValueReason::LastWriter`] with the ruling out of each other one). When none is
//! left, the read is impossible, and each writer in turn is taken as its source: every order then holds
//! vacuously, and the writer's own ruling out closes a cycle that tells why.
//!
//! Then any write called after the read's source returned came after it, and, since the read still saw
//! the source's value, after the read too (read-write), and any write that came before the read came
//! before the source (overwritten). Those two hold under a condition (the later write follows the source;
//! the write precedes the read), which the explainer learns from real time or another order. A read of the
//! initial value, which no operation writes (or real time rules out each that does), came before every
//! write. A successful cas reads its `from` and writes its `to`, which links values into chains.
//!
//! Operations without a response may have taken effect or not: they count as possible writers of their
//! value (so a value they may have written is never said to have one writer), and an order into one of them
//! says nothing unless the operation took effect, which an order out of it then proves.

use std::collections::BTreeMap;

use super::value::{describe, Value};
use crate::history::Operation;
use crate::model::{RuledOut, ValueOrder, ValueReason};

/// The most operations for which writers are ruled out by real time (see `register_orders`).
const ELIMINATE_UP_TO: usize = 3_000;

/// What one operation does to a register, as far as its orders go.
pub(crate) struct Access {
    /// The value it observed, when its output says (a read, a cas that swapped).
    pub reads: Option<Option<Value>>,
    /// The value it may have written (a write, a cas that swapped or may have).
    pub writes: Option<Option<Value>>,
    /// Whether it certainly changed the register to `writes` if it took effect (not a cas of unknown
    /// outcome).
    pub certain: bool,
}

/// The orders forced among `subset` (indices into `operations`), given each operation's access.
pub(crate) fn register_orders<I, O>(
    init: &Option<Value>,
    operations: &[Operation<I, O>],
    subset: &[usize],
    access: impl Fn(&Operation<I, O>) -> Access,
) -> Vec<ValueOrder> {
    let accesses: Vec<(usize, Access)> = subset
        .iter()
        .map(|&i| (i, access(&operations[i])))
        .collect();
    let mut writers: BTreeMap<&Option<Value>, Vec<usize>> = BTreeMap::new();
    for (i, a) in &accesses {
        if let Some(v) = &a.writes {
            writers.entry(v).or_default().push(*i);
        }
    }
    let position: BTreeMap<usize, usize> = accesses
        .iter()
        .enumerate()
        .map(|(k, (i, _))| (*i, k))
        .collect();
    // Ruling out by real time names the other writers in every order that leans on a read's source; on a
    // long history that is more text than an explanation can use (the graph is not built beyond a few
    // thousand operations anyway), and only writers that are the only ones of their value give orders.
    let eliminate = accesses.len() <= ELIMINATE_UP_TO;
    // What comes between a writer and a read, by the value read (an observer of another value shows a
    // write in between as well as a write does).
    let mut betweens: BTreeMap<&Option<Value>, Between> = BTreeMap::new();
    let mut orders = Vec::new();
    for (r, a) in &accesses {
        let Some(seen) = &a.reads else { continue };
        let between: Option<&Between> = if eliminate {
            Some(
                betweens
                    .entry(seen)
                    .or_insert_with(|| Between::new(operations, &accesses, seen)),
            )
        } else {
            None
        };
        let reader = &operations[*r];
        let candidates: Vec<usize> = writers
            .get(seen)
            .map(|ws| ws.iter().copied().filter(|w| w != r).collect())
            .unwrap_or_default();
        // Real time rules a writer out as the last write before the read when it was called after the
        // read returned, or when a certain write or a read of another value always comes between them.
        let ruled_out: Vec<RuledOut> = candidates
            .iter()
            .filter_map(|&w| {
                let between = between?;
                if reader.ret.is_some_and(|ret| ret < operations[w].call) {
                    return Some(RuledOut {
                        writer: w,
                        by: None,
                    });
                }
                let after = operations[w].ret?;
                between.first_within(after, reader.call).map(|x| RuledOut {
                    writer: w,
                    by: Some(x),
                })
            })
            .collect();
        // The initial value is ruled out by any such operation that returned before the read was called.
        let init_alive =
            init == seen && between.is_none_or(|b| b.first_within(i64::MIN, reader.call).is_none());
        let alive: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|w| !ruled_out.iter().any(|o| o.writer == *w))
            .collect();
        let seen_text = short(&describe(seen));
        let role = |x: usize| -> String {
            let b = &accesses[position[&x]].1;
            match (&b.writes, &b.reads) {
                (Some(v), _) if b.certain => format!("writing {}", short(&describe(v))),
                (_, Some(v)) => format!("which read {}", short(&describe(v))),
                _ => String::new(),
            }
        };
        // The writes the read's value may have come from, forced: the one left, or, with none left, each
        // in turn (every order then holds vacuously, and the writer's own ruling out closes a cycle).
        let sources: Vec<usize> = match (alive.as_slice(), init_alive) {
            ([w], false) => vec![*w],
            ([], false) => candidates.clone(),
            _ => Vec::new(),
        };
        for w in sources {
            let others: Vec<RuledOut> = ruled_out
                .iter()
                .filter(|o| o.writer != w)
                .cloned()
                .collect();
            // Why `w` is the write the read saw, as a clause the orders that lean on it repeat: with
            // other writers, the proof is the ruling out of each.
            let (why, source) = if others.is_empty() && init != seen {
                (
                    ValueReason::Observed,
                    format!("#{r} read {seen_text}, which only #{w} writes"),
                )
            } else {
                (
                    ValueReason::LastWriter {
                        ruled_out: others.clone(),
                    },
                    format!(
                        "#{r} read {seen_text}, and real time rules out every other operation that \
                         writes it as the last write before #{r} ({})",
                        ruled_out_text(&others, *r, init == seen, &role)
                    ),
                )
            };
            let text = format!("{source}, so #{w} precedes #{r}");
            orders.push(ValueOrder {
                from: w,
                to: *r,
                why,
                text,
            });
            for (x, b) in &accesses {
                let (Some(written), true) = (&b.writes, b.certain) else {
                    continue;
                };
                if x == r || *x == w {
                    continue;
                }
                orders.push(ValueOrder {
                    from: *x,
                    to: w,
                    why: ValueReason::Overwritten { reader: *r },
                    text: format!(
                        "{source}, so #{r} read #{w}'s {seen_text}, and #{x} (writing {}) did not come \
                         between them: as #{x} precedes #{r}, it precedes #{w}",
                        short(&describe(written))
                    ),
                });
                orders.push(ValueOrder {
                    from: *r,
                    to: *x,
                    why: ValueReason::Missed { since: Some(w) },
                    text: format!(
                        "{source}, so #{r} read #{w}'s {seen_text}, and #{x} (writing {}) did not come \
                         between them: as #{x} follows #{w}, #{r} precedes #{x}",
                        short(&describe(written))
                    ),
                });
            }
        }
        if init_alive && alive.is_empty() {
            let because = if candidates.is_empty() {
                "which no operation writes".to_string()
            } else {
                format!(
                    "and no operation that writes it can be the last write before #{r} ({})",
                    ruled_out_text(&ruled_out, *r, false, &role)
                )
            };
            for (x, b) in &accesses {
                let (Some(written), true) = (&b.writes, b.certain) else {
                    continue;
                };
                if x == r {
                    continue;
                }
                orders.push(ValueOrder {
                    from: *r,
                    to: *x,
                    why: ValueReason::Missed { since: None },
                    text: format!(
                        "#{r} read {seen_text}, the initial value, {because}, so #{r} precedes #{x} \
                         (writing {})",
                        short(&describe(written))
                    ),
                });
            }
        }
    }
    orders
}

/// Why each of `ruled_out` cannot be the last write before `reader`, as a clause; `role` says what an
/// operation in between did.
fn ruled_out_text(
    ruled_out: &[RuledOut],
    reader: usize,
    init_too: bool,
    role: &impl Fn(usize) -> String,
) -> String {
    let mut parts: Vec<String> = ruled_out
        .iter()
        .map(|o| match o.by {
            None => format!("#{} was called after #{reader} returned", o.writer),
            Some(x) => format!(
                "#{x} ({}) was called after #{} returned and returned before #{reader} was called",
                role(x),
                o.writer
            ),
        })
        .collect();
    if init_too {
        parts.push("the initial value was overwritten before it was called".to_string());
    }
    parts.join("; ")
}

/// The operations that show a write other than a read's source, by the time they were called, to find one
/// that always comes between the source and the read: the certain writes, and the operations that observed
/// another value than the read's (the state changed between the source and them).
struct Between {
    /// `(call, ret, index)` of every such operation that returned, by call.
    by_call: Vec<(i64, i64, usize)>,
    /// `suffix[k]`: the write of `by_call[k..]` that returned first, as `(ret, index)`.
    suffix: Vec<(i64, usize)>,
}

impl Between {
    fn new<I, O>(
        operations: &[Operation<I, O>],
        accesses: &[(usize, Access)],
        seen: &Option<Value>,
    ) -> Self {
        let mut by_call: Vec<(i64, i64, usize)> = accesses
            .iter()
            .filter(|(_, a)| {
                (a.writes.is_some() && a.certain) || a.reads.as_ref().is_some_and(|v| v != seen)
            })
            .filter_map(|(i, _)| Some((operations[*i].call, operations[*i].ret?, *i)))
            .collect();
        by_call.sort_unstable();
        let mut suffix = vec![(i64::MAX, usize::MAX); by_call.len()];
        let mut best = (i64::MAX, usize::MAX);
        for k in (0..by_call.len()).rev() {
            let (_, ret, i) = by_call[k];
            best = best.min((ret, i));
            suffix[k] = best;
        }
        Between { by_call, suffix }
    }

    /// The operation (first to return, then first in the history) called after `after` that returned
    /// before `before`, if any.
    fn first_within(&self, after: i64, before: i64) -> Option<usize> {
        let k = self.by_call.partition_point(|&(call, _, _)| call <= after);
        let &(ret, i) = self.suffix.get(k)?;
        (ret < before).then_some(i)
    }
}

/// A string value quoted for a sentence, its middle cut when it is long (the history holds it whole).
pub(crate) fn quote(value: &str) -> String {
    match cut(value) {
        None => format!("{value:?}"),
        Some((head, tail, n)) => format!("{head:?}…{tail:?} ({n} characters)"),
    }
}

/// A register value for a sentence, its middle cut when it is long.
pub(crate) fn short(value: &str) -> String {
    match cut(value) {
        None => value.to_string(),
        Some((head, tail, n)) => format!("{head}…{tail} ({n} characters)"),
    }
}

/// The head and tail of a long text, and its length in characters; `None` when it is short.
fn cut(value: &str) -> Option<(String, String, usize)> {
    const KEEP: usize = 24;
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 2 * KEEP + 8 {
        return None;
    }
    Some((
        chars[..KEEP].iter().collect(),
        chars[chars.len() - KEEP..].iter().collect(),
        chars.len(),
    ))
}
