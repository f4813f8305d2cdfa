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
use crate::model::{ValueOrder, ValueReason};

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
    let mut orders = Vec::new();
    for (r, a) in &accesses {
        let Some(seen) = &a.reads else { continue };
        let sources: Vec<usize> = writers
            .get(seen)
            .map(|ws| ws.iter().copied().filter(|w| w != r).collect())
            .unwrap_or_default();
        let seen_text = short(&describe(seen));
        match (sources.as_slice(), init == seen) {
            ([w], false) => {
                let w = *w;
                orders.push(ValueOrder {
                    from: w,
                    to: *r,
                    why: ValueReason::Observed,
                    text: format!(
                        "#{r} read {seen_text}, which only #{w} writes, so #{w} precedes #{r}"
                    ),
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
            ([], true) => {
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
                            "#{r} read {seen_text}, the initial value, which no operation writes, so #{r} \
                             precedes #{x} (writing {})",
                            short(&describe(written))
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    orders
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
