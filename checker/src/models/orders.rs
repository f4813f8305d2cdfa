//! The orders that the values of a register history force ([`crate::Model::value_orders`] of `register`
//! and `cas-register`), and the short quoting of values in the sentences that give them.
//!
//! A register holds one value, and a write replaces it. So when exactly one operation of the history
//! writes the value a read saw (and the initial value is another), that write came before the read
//! (write-read). Then any write called after that write returned came after it, and, since the read still
//! saw the first write's value, after the read too (read-write), and any write that came before the read
//! came before the first write (overwritten). Those two hold under a condition (the later write follows
//! the first; the write precedes the read), which the explainer learns from real time or another order. A read of the initial value, which no
//! operation writes, came before every write. A successful cas reads its `from` and writes its `to`, which
//! links values into chains.
//!
//! Operations without a response may have taken effect or not: they count as possible writers of their
//! value (so a value they may have written is never said to have one writer), and an order into one of them
//! says nothing unless the operation took effect, which an order out of it then proves.

use std::collections::BTreeMap;

use super::value::{describe, Value};
use crate::history::Operation;
use crate::model::{RuledOut, ValueOrder, ValueReason};

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
    let between = Between::new(operations, &accesses);
    let mut orders = Vec::new();
    for (r, a) in &accesses {
        let Some(seen) = &a.reads else { continue };
        let reader = &operations[*r];
        let candidates: Vec<usize> = writers
            .get(seen)
            .map(|ws| ws.iter().copied().filter(|w| w != r).collect())
            .unwrap_or_default();
        // Real time rules a writer out as the last write before the read when it was called after the
        // read returned, or when a certain write always comes between them.
        let ruled_out: Vec<RuledOut> = candidates
            .iter()
            .filter_map(|&w| {
                if reader.ret.is_some_and(|ret| ret < operations[w].call) {
                    return Some(RuledOut { writer: w, by: None });
                }
                let after = operations[w].ret?;
                between
                    .first_within(after, reader.call)
                    .map(|x| RuledOut {
                        writer: w,
                        by: Some(x),
                    })
            })
            .collect();
        // The initial value is ruled out by any certain write that returned before the read was called.
        let init_alive = init == seen && between.first_within(i64::MIN, reader.call).is_none();
        let alive: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|w| !ruled_out.iter().any(|o| o.writer == *w))
            .collect();
        let seen_text = short(&describe(seen));
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
            let (why, text) = if others.is_empty() && init != seen {
                (
                    ValueReason::Observed,
                    format!("#{r} read {seen_text}, which only #{w} writes, so #{w} precedes #{r}"),
                )
            } else {
                (
                    ValueReason::LastWriter {
                        ruled_out: others.clone(),
                    },
                    format!(
                        "#{r} read {seen_text}, and of the operations that write it only #{w} can be the \
                         last write before #{r} ({}), so #{w} precedes #{r}",
                        ruled_out_text(&others, *r, init == seen)
                    ),
                )
            };
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
                        "#{r} read #{w}'s {seen_text}, so #{x} (writing {}) did not come between them: \
                         as #{x} precedes #{r}, it precedes #{w}",
                        short(&describe(written))
                    ),
                });
                orders.push(ValueOrder {
                    from: *r,
                    to: *x,
                    why: ValueReason::Missed { since: Some(w) },
                    text: format!(
                        "#{r} read #{w}'s {seen_text}, so #{x} (writing {}) did not come between them: \
                         as #{x} follows #{w}, #{r} precedes #{x}",
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
                    ruled_out_text(&ruled_out, *r, false)
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

/// Why each of `ruled_out` cannot be the last write before `reader`, as a clause.
fn ruled_out_text(ruled_out: &[RuledOut], reader: usize, init_too: bool) -> String {
    let mut parts: Vec<String> = ruled_out
        .iter()
        .map(|o| match o.by {
            None => format!("#{} was called after #{reader} returned", o.writer),
            Some(x) => format!(
                "#{x} was called after #{} returned and returned before #{reader} was called",
                o.writer
            ),
        })
        .collect();
    if init_too {
        parts.push("the initial value was overwritten before it was called".to_string());
    }
    parts.join("; ")
}

/// The certain writes by the time they were called, to find one that always comes between two others.
struct Between {
    /// `(call, ret, index)` of every certain write that returned, by call.
    by_call: Vec<(i64, i64, usize)>,
    /// `suffix[k]`: the write of `by_call[k..]` that returned first, as `(ret, index)`.
    suffix: Vec<(i64, usize)>,
}

impl Between {
    fn new<I, O>(operations: &[Operation<I, O>], accesses: &[(usize, Access)]) -> Self {
        let mut by_call: Vec<(i64, i64, usize)> = accesses
            .iter()
            .filter(|(_, a)| a.writes.is_some() && a.certain)
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

    /// The certain write (first to return, then first in the history) called after `after` that returned
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
