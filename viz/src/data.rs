//! The data a page embeds: a compact, self-describing copy of the history and its verdict.
//!
//! The page must open 100,000-operation histories in a few seconds, so the operations travel as columns
//! (one array per field) rather than as objects, and every string (inputs, outputs, states) is stored
//! once in a table and referred to by index: a key/value history repeats `get(x)` and the same few states
//! thousands of times.
//!
//! Times are shifted so that the earliest instant is 0 and the offset travels as a decimal string.
//! JavaScript numbers are doubles, and a history stamped with nanoseconds since the epoch (about 2^60)
//! would otherwise lose its low digits, which can reorder instants that differ by a few nanoseconds.
//!
//! The verdict is taken as given, but its operation indices are checked against the history: a page is
//! always produced, and indices that do not exist are dropped and reported in `warnings` rather than
//! left for the script to trip over.

use std::collections::{BTreeSet, HashMap};

use checker::{CheckResult, ClientId, HistoryView, PartitionResult, Step, Undecided, Verdict};
use serde::Serialize;

/// Version of the embedded format, so that a script reading a saved page can tell what it has.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Everything the page script needs.
#[derive(Debug, Serialize)]
pub(crate) struct PageData {
    pub version: u32,
    pub model: String,
    pub verdict: Verdict,
    pub micros: u64,
    /// The absolute time that relative time 0 stands for, as a decimal string (see the module header).
    pub t0: String,
    /// The unit of the times (`ns`, `us`, `ms`, `s`), when the history says; ticks are then labelled in
    /// the unit that suits the range in view. Omitted: plain numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Every distinct input, output and state string.
    pub strings: Vec<String>,
    /// Lanes, top to bottom: annotation tags first (faults read best above the clients they hit), then
    /// clients by id.
    pub lanes: Vec<Lane>,
    pub ops: Ops,
    pub annotations: Vec<AnnotationData>,
    /// Illegal partitions first, then undecided ones, then linearizable ones; otherwise in the checker's
    /// order.
    pub partitions: Vec<PartitionData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<CounterexampleData>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Lane {
    pub name: String,
    /// `"client"` or `"tag"`.
    pub kind: &'static str,
}

/// The operations as columns; entry `i` of every column describes operation `i` of the history.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Ops {
    /// Lane index.
    pub lane: Vec<usize>,
    /// Relative call time.
    pub call: Vec<i64>,
    /// Relative return time; `null` when there was no response.
    pub ret: Vec<Option<i64>>,
    /// Index into `strings`.
    pub input: Vec<usize>,
    /// Index into `strings`; `null` when there is no output.
    pub output: Vec<Option<usize>>,
    /// Indices of the failed operations (few, so a list beats a column of booleans).
    pub failed: Vec<usize>,
}

#[derive(Debug, Serialize)]
pub(crate) struct AnnotationData {
    pub lane: usize,
    pub start: i64,
    pub end: i64,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct PartitionData {
    pub label: String,
    pub verdict: Verdict,
    pub ops: Vec<usize>,
    /// Index into `strings`.
    pub initial: usize,
    /// The linearization as flat pairs: `[op, state, op, state, ...]`, states as indices into `strings`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lin: Vec<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<PartialData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecided: Option<Undecided>,
    pub explored: u64,
    pub micros: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct PartialData {
    /// Flat `[op, state, ...]` pairs, as in [`PartitionData::lin`].
    pub steps: Vec<usize>,
    pub stuck: Vec<usize>,
    pub blocking: Option<usize>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CounterexampleData {
    pub partition: String,
    pub ops: Vec<usize>,
    pub story: Vec<String>,
}

/// Interns strings so that each distinct one is stored once.
#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, usize>,
}

impl Strings {
    fn intern(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len();
        self.table.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// Builds the embedded data for `view` and `result`.
pub(crate) fn page_data(view: &HistoryView, result: &CheckResult) -> PageData {
    let n = view.operations.len();
    let mut warnings = Vec::new();
    let mut strings = Strings::default();

    let t0 = view
        .operations
        .iter()
        .map(|op| op.call)
        .chain(view.annotations.iter().map(|a| a.start.min(a.end)))
        .min()
        .unwrap_or(0);
    // Differences of i64 can overflow i64 only for absurd inputs; saturate rather than panic.
    let rel = |t: i64| t.saturating_sub(t0);

    let lanes = lanes(view);
    let lane_of_client: HashMap<ClientId, usize> = lanes
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind == "client")
        .filter_map(|(i, l)| l.name.parse::<ClientId>().ok().map(|c| (c, i)))
        .collect();
    let lane_of_tag: HashMap<&str, usize> = lanes
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind == "tag")
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();

    let mut ops = Ops::default();
    for (i, op) in view.operations.iter().enumerate() {
        ops.lane.push(lane_of_client[&op.client]);
        ops.call.push(rel(op.call));
        ops.ret.push(op.ret.map(rel));
        ops.input.push(strings.intern(&op.input));
        ops.output
            .push(op.output.as_deref().map(|o| strings.intern(o)));
        if op.failed {
            ops.failed.push(i);
        }
    }

    let annotations = view
        .annotations
        .iter()
        .map(|a| {
            let lane = match (a.client, a.tag.as_deref()) {
                (Some(client), _) => lane_of_client[&client],
                (None, Some(tag)) => lane_of_tag[tag],
                (None, None) => lane_of_tag[UNTAGGED_LANE],
            };
            // On a client's lane the tag is the only place left to say what kind of event this is.
            let text = match (a.client, &a.tag) {
                (Some(_), Some(tag)) => format!("{tag}: {}", a.text),
                _ => a.text.clone(),
            };
            AnnotationData {
                lane,
                start: rel(a.start.min(a.end)),
                end: rel(a.start.max(a.end)),
                text,
            }
        })
        .collect();

    let mut partitions: Vec<PartitionData> = Vec::with_capacity(result.partitions.len());
    for p in display_order(&result.partitions) {
        let mut checked = |what: &str, indices: &mut dyn Iterator<Item = usize>| -> Vec<usize> {
            let (ok, bad): (Vec<usize>, Vec<usize>) = indices.partition(|&i| i < n);
            if !bad.is_empty() {
                warnings.push(format!(
                    "partition {:?}: {what} refers to operations {bad:?}, but the history has {n}; left out",
                    p.label
                ));
            }
            ok
        };
        let mut flat = |what: &str, steps: &[Step]| -> Vec<usize> {
            let valid = checked(what, &mut steps.iter().map(|s| s.op));
            let mut out = Vec::with_capacity(valid.len() * 2);
            for s in steps.iter().filter(|s| s.op < n) {
                out.push(s.op);
                out.push(strings.intern(&s.state));
            }
            out
        };
        let lin = flat("its linearization", &p.linearization);
        let partial = p
            .partial
            .iter()
            .map(|pl| PartialData {
                steps: flat("a partial linearization", &pl.steps),
                stuck: pl.stuck.iter().copied().filter(|&i| i < n).collect(),
                blocking: (pl.blocking < n).then_some(pl.blocking),
            })
            .collect();
        let ops = checked("its operation list", &mut p.operations.iter().copied());
        partitions.push(PartitionData {
            label: p.label.clone(),
            verdict: p.verdict,
            ops,
            initial: strings.intern(&p.initial_state),
            lin,
            partial,
            undecided: p.undecided,
            explored: p.states_explored,
            micros: p.micros,
        });
    }

    let counterexample = result.counterexample.as_ref().map(|c| CounterexampleData {
        partition: c.partition.clone(),
        ops: c.operations.iter().copied().filter(|&i| i < n).collect(),
        story: c.story.clone(),
    });

    PageData {
        version: FORMAT_VERSION,
        model: view.model.clone(),
        verdict: result.verdict,
        micros: result.micros,
        t0: t0.to_string(),
        unit: view.time_unit.clone(),
        strings: strings.table,
        lanes,
        ops,
        annotations,
        partitions,
        counterexample,
        warnings,
    }
}

/// The lane that annotations with neither a client nor a tag go to.
pub(crate) const UNTAGGED_LANE: &str = "events";

/// Tag lanes (in order of first appearance), then one lane per client by id.
pub(crate) fn lanes(view: &HistoryView) -> Vec<Lane> {
    let mut tags: Vec<&str> = Vec::new();
    let mut clients: BTreeSet<ClientId> = view.operations.iter().map(|op| op.client).collect();
    for a in &view.annotations {
        let tag = match (a.client, a.tag.as_deref()) {
            (Some(client), _) => {
                clients.insert(client);
                continue;
            }
            (None, Some(tag)) => tag,
            (None, None) => UNTAGGED_LANE,
        };
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags.iter()
        .map(|t| Lane {
            name: t.to_string(),
            kind: "tag",
        })
        .chain(clients.into_iter().map(|c| Lane {
            name: c.to_string(),
            kind: "client",
        }))
        .collect()
}

/// Illegal partitions first (they are why anyone opens the page), then undecided, then linearizable; the
/// sort is stable so the checker's order holds within each group.
pub(crate) fn display_order(partitions: &[PartitionResult]) -> Vec<&PartitionResult> {
    let rank = |v: Verdict| match v {
        Verdict::Illegal => 0,
        Verdict::Unknown => 1,
        Verdict::Ok => 2,
    };
    let mut out: Vec<&PartitionResult> = partitions.iter().collect();
    out.sort_by_key(|p| rank(p.verdict));
    out
}

/// Serializes `data` as JSON that can sit inside a `<script>` element.
///
/// Inside a script element the HTML parser looks only for `</script` (and `<!--`, which changes how it
/// scans), so a string in the data such as `put(x, "</script><img onerror=...>")` would end the element
/// early. `<` only ever appears inside JSON strings, where `\u003c` means the same character, so escaping
/// every `<` (and, for good measure, `>` and `&`) makes the text inert without changing the data.
/// U+2028 and U+2029 are escaped too: they are valid in JSON but were line terminators in older
/// JavaScript, which matters if the data is ever pasted into a script as a literal.
pub(crate) fn script_safe_json<T: Serialize>(data: &T) -> String {
    let json = serde_json::to_string(data).expect("page data is plain data and always serializes");
    escape_for_script(&json)
}

/// See [`script_safe_json`].
pub(crate) fn escape_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{illegal_register, op};
    use checker::{Annotation, OpView};

    #[test]
    fn escaping_keeps_scripts_closed_and_data_equal() {
        let nasty =
            r#"["</script><script>alert(1)</script>", "<!-- x -->", "a & b > c", "line\u2028sep"]"#;
        let value: serde_json::Value = serde_json::from_str(nasty).unwrap();
        let escaped = script_safe_json(&value);
        assert!(!escaped.contains('<'));
        assert!(!escaped.contains('>'));
        assert!(!escaped.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn strings_are_stored_once_and_times_are_relative() {
        let view = HistoryView {
            model: "kv".into(),
            operations: vec![
                op(
                    7,
                    1_000_000_000_000_000_010,
                    Some(1_000_000_000_000_000_020),
                    "get(x)",
                    Some("a"),
                ),
                op(
                    3,
                    1_000_000_000_000_000_012,
                    Some(1_000_000_000_000_000_030),
                    "get(x)",
                    Some("a"),
                ),
                op(7, 1_000_000_000_000_000_025, None, "put(x, b)", None),
            ],
            annotations: vec![],
            time_unit: None,
        };
        let result = illegal_register(&view);
        let data = page_data(&view, &result);
        assert_eq!(data.t0, "1000000000000000010");
        assert_eq!(data.ops.call, vec![0, 2, 15]);
        assert_eq!(data.ops.ret, vec![Some(10), Some(20), None]);
        assert_eq!(data.ops.input[0], data.ops.input[1]);
        assert_eq!(data.strings.iter().filter(|s| *s == "get(x)").count(), 1);
        // Lanes by client id, whatever order the clients first appear in.
        assert_eq!(
            data.lanes
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>(),
            ["3", "7"]
        );
        assert_eq!(data.ops.lane, vec![1, 0, 1]);
    }

    #[test]
    fn annotation_lanes_come_first_and_clients_keep_theirs() {
        let mut view = HistoryView {
            model: "kv".into(),
            operations: vec![op(1, 0, Some(5), "get(x)", Some(""))],
            annotations: vec![],
            time_unit: None,
        };
        view.annotations.push(Annotation {
            client: None,
            tag: Some("nemesis".into()),
            start: 1,
            end: 4,
            text: "partition".into(),
        });
        view.annotations.push(Annotation {
            client: Some(2),
            tag: Some("crash".into()),
            start: 2,
            end: 3,
            text: "n2".into(),
        });
        view.annotations.push(Annotation {
            client: None,
            tag: None,
            start: 0,
            end: 1,
            text: "note".into(),
        });
        let result = illegal_register(&view);
        let data = page_data(&view, &result);
        let names: Vec<(&str, &str)> = data
            .lanes
            .iter()
            .map(|l| (l.kind, l.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("tag", "nemesis"),
                ("tag", UNTAGGED_LANE),
                ("client", "1"),
                ("client", "2")
            ]
        );
        assert_eq!(
            data.annotations.iter().map(|a| a.lane).collect::<Vec<_>>(),
            [0, 3, 1]
        );
        assert_eq!(data.annotations[1].text, "crash: n2");
    }

    #[test]
    fn illegal_partitions_come_first_and_bad_indices_are_reported() {
        let view = HistoryView {
            model: "kv".into(),
            operations: vec![
                op(1, 0, Some(1), "get(x)", Some("a")),
                OpView::clone(&op(1, 2, Some(3), "get(y)", Some(""))),
            ],
            annotations: vec![],
            time_unit: None,
        };
        let mut result = illegal_register(&view);
        let mut ok = result.partitions[0].clone();
        ok.label = "y".into();
        ok.verdict = Verdict::Ok;
        ok.partial.clear();
        ok.operations = vec![1, 99];
        result.partitions.insert(0, ok);
        let data = page_data(&view, &result);
        assert_eq!(data.partitions[0].verdict, Verdict::Illegal);
        assert_eq!(data.partitions[1].label, "y");
        assert_eq!(data.partitions[1].ops, vec![1]);
        assert_eq!(data.warnings.len(), 1, "{:?}", data.warnings);
    }
}
