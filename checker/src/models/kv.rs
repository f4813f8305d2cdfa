//! `kv`: a key/value store with get, put and append, partitioned by key.
//!
//! Every key starts as the empty string, so a get of a key never written returns `""`. put replaces,
//! append concatenates. An append whose output carries `{"value": previous}` is checked against the value
//! it replaced, as the kvsrv lab's Append returns the old value; an append with a null output is not.
//!
//! JSON: `{"op":"get","key":K}` -> `{"value":V}`; `{"op":"put","key":K,"value":V}`;
//! `{"op":"append","key":K,"value":V}` -> null or `{"value":previous}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::orders::quote;
use crate::history::Operation;
use crate::model::{Model, Partition, SharedStrings, ValueOrder, ValueReason};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum KvInput {
    Get { key: Arc<str> },
    Put { key: Arc<str>, value: Arc<str> },
    Append { key: Arc<str>, value: Arc<str> },
}

impl KvInput {
    pub fn key(&self) -> &Arc<str> {
        match self {
            KvInput::Get { key } | KvInput::Put { key, .. } | KvInput::Append { key, .. } => key,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvOutput {
    /// What a get returned, or the value an append replaced; absent when not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Arc<str>>,
}

/// The state: every key with a non-empty value (a missing key reads as `""`).
///
/// The search clones, hashes and compares states at nearly every step, and a value built by appends can be
/// long, so the map is shared (a clone is a reference count or two) and its hash is computed once, when a
/// step makes a new state: the sum of its entries' hashes, which a step updates for the one key it changes.
/// A step of a partition by key allocates once, for the new value: the states of such a partition hold one
/// key, which is kept inline rather than in a shared slice.
#[derive(Clone)]
pub struct KvState {
    entries: Entries,
    hash: u64,
}

#[derive(Clone)]
enum Entries {
    /// Exactly one key (the state of a partition by key once written).
    One((Arc<str>, Arc<str>)),
    /// Any other number of keys, sorted by key.
    Many(Arc<[(Arc<str>, Arc<str>)]>),
}

impl Default for KvState {
    fn default() -> Self {
        KvState {
            entries: Entries::Many(Arc::new([])),
            hash: 0,
        }
    }
}

impl KvState {
    fn entries(&self) -> &[(Arc<str>, Arc<str>)] {
        match &self.entries {
            Entries::One(entry) => std::slice::from_ref(entry),
            Entries::Many(entries) => entries,
        }
    }

    /// The value of `key`, `None` when it is `""` (never written, or emptied).
    pub fn get(&self, key: &str) -> Option<&Arc<str>> {
        if let Entries::One((k, v)) = &self.entries {
            return same(k, key).then_some(v);
        }
        let entries = self.entries();
        let at = entries.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&entries[at].1)
    }

    /// The value of `key`, `""` when it was never written.
    pub fn value(&self, key: &str) -> &str {
        self.get(key).map_or("", |v| v)
    }

    /// The keys with a non-empty value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Arc<str>)> {
        self.entries().iter().map(|(k, v)| (k, v))
    }

    /// The state with `key` set to `value`.
    fn with(&self, key: &Arc<str>, value: Arc<str>) -> KvState {
        let current = self.entries();
        // The states of a partition by key hold that one key: they need no slice.
        if value.is_empty() && current.is_empty() {
            return self.clone();
        }
        if !value.is_empty() && (current.is_empty() || (current.len() == 1 && current[0].0 == *key))
        {
            let hash = entry_hash(key, &value);
            return KvState {
                entries: Entries::One((key.clone(), value)),
                hash,
            };
        }
        let mut entries: Vec<(Arc<str>, Arc<str>)> = current.to_vec();
        let mut hash = self.hash;
        if let Ok(at) = entries.binary_search_by(|(k, _)| (**k).cmp(&**key)) {
            hash = hash.wrapping_sub(entry_hash(key, &entries[at].1));
            entries.remove(at);
        }
        // A key holding "" is indistinguishable from an absent one: keep one representation so that the
        // memo table sees them as one state.
        if !value.is_empty() {
            hash = hash.wrapping_add(entry_hash(key, &value));
            let at = entries
                .binary_search_by(|(k, _)| (**k).cmp(&**key))
                .unwrap_or_else(|at| at);
            entries.insert(at, (key.clone(), value));
        }
        let entries = match <[_; 1]>::try_from(entries) {
            Ok([entry]) => Entries::One(entry),
            Err(entries) => Entries::Many(entries.into()),
        };
        KvState { entries, hash }
    }
}

/// `old` followed by `suffix`, in one allocation (building a `String` first and converting it would copy
/// the value twice and allocate twice, at every append the search tries).
fn concat(old: &str, suffix: &str) -> Arc<str> {
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        buffer.push_str(old);
        buffer.push_str(suffix);
        Arc::from(buffer.as_str())
    })
}

/// `a == b`, at the cost of comparing two pointers when they are the same string: the keys of a history
/// read from a file share one allocation per key ([`Kv::share`]), and the states hold those.
fn same(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

fn entry_hash(key: &str, value: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one((key, value))
}

impl PartialEq for KvState {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && match (&self.entries, &other.entries) {
                (Entries::One((k, v)), Entries::One((l, w))) => {
                    (Arc::ptr_eq(v, w) || v == w) && (Arc::ptr_eq(k, l) || k == l)
                }
                (Entries::Many(a), Entries::Many(b)) => Arc::ptr_eq(a, b) || a == b,
                _ => false,
            }
    }
}

impl Eq for KvState {}

impl std::hash::Hash for KvState {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl std::fmt::Debug for KvState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The key/value model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

impl Model for Kv {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> KvState {
        KvState::default()
    }

    fn step(&self, state: &KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvState> {
        match input {
            KvInput::Get { key } => match output.and_then(|o| o.value.as_deref()) {
                Some(seen) if !same(seen, state.value(key)) => None,
                _ => Some(state.clone()),
            },
            KvInput::Put { key, value } => Some(state.with(key, value.clone())),
            KvInput::Append { key, value } => {
                let old = state.value(key);
                if let Some(seen) = output.and_then(|o| o.value.as_deref()) {
                    if seen != old {
                        return None;
                    }
                }
                Some(state.with(key, concat(old, value)))
            }
        }
    }

    fn same_operation(&self, a: &KvInput, b: &KvInput) -> bool {
        a == b
    }

    /// Every key in one allocation: the states then hold the operations' own keys, and the search
    /// compares their pointers (`Arc`'s `==` and `same` look at the pointers first). Values are
    /// left alone: nearly every write's is its own, so a table of them would be as big as the history,
    /// and looking each one up in it cost more time than the memory it saved (on the 1,000,000-operation
    /// file, 0.3 s for 45 MB; docs/performance.md).
    fn share(&self, operations: &mut [Operation<KvInput, KvOutput>], strings: &mut SharedStrings) {
        for op in operations {
            match &mut op.input {
                KvInput::Get { key } | KvInput::Put { key, .. } | KvInput::Append { key, .. } => {
                    strings.share(key)
                }
            }
        }
    }

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        matches!(input, KvInput::Get { .. })
    }

    /// Appends only lengthen a value, and gets leave it: whatever comes first, the value the get sees is
    /// the current one or that of the last put of the key, followed by appends. So it must start with
    /// one of those.
    fn may_fit_later(
        &self,
        state: &KvState,
        input: &KvInput,
        output: Option<&KvOutput>,
        between: &mut dyn Iterator<Item = &KvInput>,
    ) -> bool {
        let KvInput::Get { key } = input else {
            return true;
        };
        let Some(seen) = output.and_then(|o| o.value.as_deref()) else {
            return true;
        };
        // Whatever comes first, the value is then the current one or the last put's, followed by appends.
        if seen.starts_with(state.value(key)) {
            return true;
        }
        for other in between {
            if let KvInput::Put { key: k, value } = other {
                if k == key && seen.starts_with(&**value) {
                    return true;
                }
            }
        }
        false
    }

    /// Operations on different keys touch different entries of the map.
    fn independent(&self, a: &KvInput, b: &KvInput) -> bool {
        a.key() != b.key()
    }

    fn partition(&self, operations: &[Operation<KvInput, KvOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in operations.iter().enumerate() {
            by_key.entry(op.input.key()).or_default().push(i);
        }
        Partition::by_key(by_key)
    }

    /// The orders that append chains force, key by key (see `kv_orders`).
    fn value_orders(
        &self,
        operations: &[Operation<KvInput, KvOutput>],
        subset: &[usize],
    ) -> Vec<ValueOrder> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &i in subset {
            by_key.entry(operations[i].input.key()).or_default().push(i);
        }
        by_key
            .values()
            .flat_map(|ops| kv_orders(operations, ops))
            .collect()
    }

    fn describe_input(&self, input: &KvInput) -> String {
        match input {
            KvInput::Get { key } => format!("get({key})"),
            KvInput::Put { key, value } => format!("put({key}, {value})"),
            KvInput::Append { key, value } => format!("append({key}, {value})"),
        }
    }

    fn describe_output(&self, input: &KvInput, output: &KvOutput) -> String {
        match (input, &output.value) {
            (KvInput::Get { .. }, Some(v)) => format!("{v:?}"),
            (KvInput::Append { .. }, Some(v)) => format!("was {v:?}"),
            _ => String::new(),
        }
    }

    fn describe_state(&self, state: &KvState) -> String {
        let parts: Vec<String> = state.iter().map(|(k, v)| format!("{k}: {v:?}")).collect();
        format!("{{{}}}", parts.join(", "))
    }
}

/// The orders forced among the operations `ops` of one key.
///
/// The value a get returns (or an append reports it replaced) is the value of the last put before it, or
/// the initial `""`, followed by the values of the appends since, in their order. When the value can be
/// cut that way in exactly one way, and each piece is the value of exactly one operation of the key, those
/// operations came before the reader, in that order (write-read, write-write). Every other write of the
/// key then came after the reader, or never took effect, if it cannot have come before the chain's put:
/// when the chain starts from the initial value (no put at all came before), or when it follows the put
/// (read-write); and if it came before the reader, it came before the put (overwritten). The explainer
/// learns those conditions from real time or another order. A value cut in several ways, or a piece written by several
/// operations, forces nothing that is said here.
fn kv_orders(operations: &[Operation<KvInput, KvOutput>], ops: &[usize]) -> Vec<ValueOrder> {
    let mut puts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut appends: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in ops {
        match &operations[i].input {
            KvInput::Put { value, .. } => puts.entry(value).or_default().push(i),
            // An empty append changes nothing and shows in no value.
            KvInput::Append { value, .. } if !value.is_empty() => {
                appends.entry(value).or_default().push(i)
            }
            _ => {}
        }
    }
    let mut orders = Vec::new();
    for &r in ops {
        let op = &operations[r];
        let Some(seen) = op.output.as_ref().and_then(|o| o.value.as_deref()) else {
            continue;
        };
        if matches!(op.input, KvInput::Put { .. }) {
            continue;
        }
        let Some((start, chain)) = unique_cut(seen, &puts, &appends) else {
            continue;
        };
        let seen_text = quote(seen);
        let verb = match op.input {
            KvInput::Get { .. } => "read",
            _ => "replaced",
        };
        let mut members: Vec<usize> = start.into_iter().chain(chain.iter().copied()).collect();
        members.sort_unstable();
        if members.windows(2).any(|w| w[0] == w[1]) || members.contains(&r) {
            // One operation twice in a value, or in its own: no linearization gives it.
            continue;
        }
        let piece = |w: usize| match &operations[w].input {
            KvInput::Put { value, .. } => format!("put {}", quote(value)),
            KvInput::Append { value, .. } => quote(value),
            KvInput::Get { .. } => String::new(),
        };
        for &w in start.iter().chain(&chain) {
            orders.push(ValueOrder {
                from: w,
                to: r,
                why: ValueReason::Observed,
                text: format!(
                    "#{r} {verb} {seen_text}, which holds #{w}'s {}, so #{w} precedes #{r}",
                    piece(w)
                ),
            });
        }
        let links = start.iter().chain(&chain).zip(&chain);
        for (&a, &b) in links {
            orders.push(ValueOrder {
                from: a,
                to: b,
                why: ValueReason::Followed { witness: r },
                text: format!(
                    "#{r} {verb} {seen_text}, in which #{a}'s {} comes just before #{b}'s {}, so #{a} \
                     precedes #{b}",
                    piece(a),
                    piece(b)
                ),
            });
        }
        for &x in ops {
            let (KvInput::Put { .. } | KvInput::Append { .. }) = &operations[x].input else {
                continue;
            };
            if x == r || members.binary_search(&x).is_ok() {
                continue;
            }
            if matches!(&operations[x].input, KvInput::Append { value, .. } if value.is_empty()) {
                continue;
            }
            let text = match start {
                None if seen.is_empty() => format!(
                    "#{r} {verb} \"\", the initial value, so no write of the key came before it: #{r} \
                     precedes #{x} ({})",
                    piece(x)
                ),
                None => format!(
                    "#{r} {verb} {seen_text}, built by appends alone on the initial \"\", which lacks #{x}'s {}, \
                     so #{r} precedes #{x}",
                    piece(x)
                ),
                Some(p) => format!(
                    "#{r} {verb} {seen_text}, built on #{p}'s put by later appends, none of them #{x}'s {}: as \
                     #{x} follows #{p}, #{r} precedes #{x}",
                    piece(x)
                ),
            };
            orders.push(ValueOrder {
                from: r,
                to: x,
                why: ValueReason::Missed { since: start },
                text,
            });
            if let Some(p) = start {
                orders.push(ValueOrder {
                    from: x,
                    to: p,
                    why: ValueReason::Overwritten { reader: r },
                    text: format!(
                        "#{r} {verb} {seen_text}, built on #{p}'s put by later appends, none of them #{x}'s {}: \
                         as #{x} precedes #{r}, it precedes #{p}",
                        piece(x)
                    ),
                });
            }
        }
    }
    orders
}

/// The one way to cut `seen` into a put's value (or the initial `""`) followed by appends' values, with
/// the operations of the pieces: `None` when there is no way or several, or a piece is the value of
/// several operations.
fn unique_cut(
    seen: &str,
    puts: &BTreeMap<&str, Vec<usize>>,
    appends: &BTreeMap<&str, Vec<usize>>,
) -> Option<(Option<usize>, Vec<usize>)> {
    let bytes = seen.as_bytes();
    let n = bytes.len();
    // ways[i]: in how many ways (0, 1, or 2 for "several") the rest from byte i cuts into appends.
    let mut ways = vec![0u8; n + 1];
    ways[n] = 1;
    for i in (0..n).rev() {
        let mut w = 0u8;
        for value in appends.keys() {
            if bytes[i..].starts_with(value.as_bytes()) {
                w = w.saturating_add(ways[i + value.len()]).min(2);
            }
        }
        ways[i] = w;
    }
    // The starts: the initial value, and every put whose value begins `seen`. A put of "" is another
    // start of length 0, which makes every cut ambiguous.
    let mut total = 0u8;
    let mut found: Option<(Option<&str>, usize)> = None;
    let initial = std::iter::once(None);
    let starts = initial.chain(
        puts.keys()
            .filter(|p| seen.as_bytes().starts_with(p.as_bytes()))
            .map(|p| Some(*p)),
    );
    for start in starts {
        let len = start.map_or(0, str::len);
        if ways[len] > 0 {
            total = total.saturating_add(ways[len]).min(2);
            found = Some((start, len));
        }
    }
    let (start, mut at) = found.filter(|_| total == 1)?;
    let start = match start {
        None => None,
        Some(p) => match puts[p].as_slice() {
            [one] => Some(*one),
            _ => return None,
        },
    };
    let mut chain = Vec::new();
    while at < n {
        let (value, ops) = appends
            .iter()
            .find(|(v, _)| bytes[at..].starts_with(v.as_bytes()) && ways[at + v.len()] > 0)?;
        let [one] = ops.as_slice() else { return None };
        chain.push(*one);
        at += value.len();
    }
    Some((start, chain))
}
