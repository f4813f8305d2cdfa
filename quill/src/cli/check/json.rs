//! `quill check --json`: the document, written while it is serialized.
//!
//! Its bytes are those the document had when it was built as one `serde_json::Value` and then printed:
//! every object's keys in sorted order, optional fields left out as the library's types leave them out
//! (docs/json-output.md describes it). On a big history that value held the whole history described
//! with data and every step of the evidence at once (the 1,000,000-operation kv file: 7.3 GB, 38 s);
//! written as it is serialized, each operation is described, written and dropped in turn. The
//! serializers take the result's structs apart field by field, so a field added to them does not
//! compile until it is written here too; the small, rare parts (an illegal partition's prefixes, a
//! counterexample) still go through a `Value`, which sorts their keys.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use checker::dynamic::Checked;
use checker::{CheckResult, PartitionResult};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::json;

use super::{FileOutcome, Out, Summary};

/// Prints the document for `files`, whose outcomes are `outcomes`, as one line.
pub(super) fn print_json(
    out: &mut Out,
    files: &[PathBuf],
    outcomes: &[FileOutcome],
    summary: &Summary,
    with_history: bool,
    no_timings: bool,
    states_described: bool,
) -> anyhow::Result<()> {
    let document = Document {
        files,
        outcomes,
        summary,
        with_history,
        no_timings,
        states_described,
    };
    out.write(|w| {
        // Serde writes many small pieces; standard output alone would pass each on in 1 KB writes.
        let mut w = BufWriter::with_capacity(1 << 16, w);
        serde_json::to_writer(&mut w, &document)?;
        writeln!(w)?;
        w.flush()
    })
}

struct Document<'a> {
    files: &'a [PathBuf],
    outcomes: &'a [FileOutcome],
    summary: &'a Summary,
    with_history: bool,
    no_timings: bool,
    /// Whether the check described the states of the evidence (`Options::describe_states`); if not,
    /// they are described here, a partition at a time, as it is written.
    states_described: bool,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let summary = self.summary;
        let mut document = serializer.serialize_struct("Document", 3)?;
        document.serialize_field("files", &Files(self))?;
        document.serialize_field(
            "summary",
            &json!({
                "linearizable": summary.ok,
                "illegal": summary.illegal,
                "unknown": summary.unknown,
                "errors": summary.errors,
                "exit_code": summary.exit_code(),
            }),
        )?;
        document.serialize_field("version", &1)?;
        document.end()
    }
}

struct Files<'d, 'a>(&'d Document<'a>);

impl Serialize for Files<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let document = self.0;
        serializer.collect_seq(document.files.iter().zip(document.outcomes).map(
            |(file, outcome)| Entry {
                file: file.display().to_string(),
                outcome,
                with_history: document.with_history,
                no_timings: document.no_timings,
                states_described: document.states_described,
            },
        ))
    }
}

/// One file's entry: its result, or why it could not be checked.
struct Entry<'a> {
    file: String,
    outcome: &'a FileOutcome,
    with_history: bool,
    no_timings: bool,
    states_described: bool,
}

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_struct("Entry", 6)?;
        match self.outcome {
            FileOutcome::Checked(checked) => {
                entry.serialize_field("file", &self.file)?;
                if self.with_history {
                    entry.serialize_field("history", &checked.view_json())?;
                }
                entry.serialize_field("model", &checked.model)?;
                entry.serialize_field("operations", &checked.operations)?;
                entry.serialize_field(
                    "result",
                    &ResultJson {
                        checked,
                        no_timings: self.no_timings,
                        states_described: self.states_described,
                    },
                )?;
                entry.serialize_field("verdict", &checked.result.verdict)?;
            }
            FileOutcome::Error(error) => {
                entry.serialize_field("error", error)?;
                entry.serialize_field("file", &self.file)?;
            }
        }
        entry.end()
    }
}

/// A check's result; with `--no-timings`, without the measured times (the check's and every
/// partition's `micros`), the only fields of the result that differ between runs.
struct ResultJson<'a> {
    checked: &'a Checked,
    no_timings: bool,
    states_described: bool,
}

impl Serialize for ResultJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let CheckResult {
            verdict,
            partitions,
            micros,
            counterexample,
        } = &self.checked.result;
        let mut result = serializer.serialize_struct("CheckResult", 4)?;
        if let Some(counterexample) = counterexample {
            result.serialize_field("counterexample", &sorted(counterexample)?)?;
        }
        if !self.no_timings {
            result.serialize_field("micros", micros)?;
        }
        let partitions = partitions.iter().map(|partition| PartitionJson {
            partition,
            no_timings: self.no_timings,
            describe: (!self.states_described).then_some(self.checked),
        });
        result.serialize_field("partitions", &Seq(partitions))?;
        result.serialize_field("verdict", verdict)?;
        result.end()
    }
}

struct PartitionJson<'a> {
    partition: &'a PartitionResult,
    no_timings: bool,
    /// The checked history, when the states of the steps are still to be described.
    describe: Option<&'a Checked>,
}

impl Serialize for PartitionJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let PartitionResult {
            label,
            operations,
            verdict,
            initial_state,
            linearization,
            partial,
            undecided,
            states_explored,
            micros,
        } = self.partition;
        let mut partition = serializer.serialize_struct("PartitionResult", 9)?;
        partition.serialize_field("initial_state", initial_state)?;
        partition.serialize_field("label", label)?;
        if !linearization.is_empty() {
            match self.describe {
                None => partition.serialize_field(
                    "linearization",
                    &Seq(linearization
                        .iter()
                        .map(|step| SortedStep(step.op, &step.state))),
                )?,
                Some(checked) => {
                    let states = checked.describe_steps(linearization);
                    let steps = linearization.iter().zip(&states);
                    partition.serialize_field(
                        "linearization",
                        &Seq(steps.map(|(step, state)| SortedStep(step.op, state))),
                    )?
                }
            }
        }
        if !self.no_timings {
            partition.serialize_field("micros", micros)?;
        }
        partition.serialize_field("operations", operations)?;
        if !partial.is_empty() {
            match self.describe {
                None => partition.serialize_field("partial", &sorted(partial)?)?,
                Some(checked) => {
                    let mut partial = partial.clone();
                    for prefix in &mut partial {
                        let states = checked.describe_steps(&prefix.steps);
                        for (step, state) in prefix.steps.iter_mut().zip(states) {
                            step.state = state;
                        }
                    }
                    partition.serialize_field("partial", &sorted(&partial)?)?
                }
            }
        }
        partition.serialize_field("states_explored", states_explored)?;
        if let Some(undecided) = undecided {
            partition.serialize_field("undecided", undecided)?;
        }
        partition.serialize_field("verdict", verdict)?;
        partition.end()
    }
}

/// A step of a linearization (a `Step`): its operation and the state after it.
struct SortedStep<'a>(usize, &'a str);

impl Serialize for SortedStep<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut step = serializer.serialize_struct("Step", 2)?;
        step.serialize_field("op", &self.0)?;
        step.serialize_field("state", self.1)?;
        step.end()
    }
}

/// A sequence written as its iterator yields it (serde's `collect_seq` takes the iterator by value, and
/// `serialize` has only `&self`).
struct Seq<I>(I);

impl<I> Serialize for Seq<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

/// `value` as a `serde_json::Value`, whose objects keep their keys sorted.
fn sorted<T: Serialize, E: serde::ser::Error>(value: &T) -> Result<serde_json::Value, E> {
    serde_json::to_value(value).map_err(E::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::dynamic::{check_raw, check_raw_explained};
    use checker::explain::ExplainOptions;
    use checker::formats::{read_reader, Format};
    use checker::Options;

    /// The document as it was built before it was streamed: one `Value`, printed.
    fn as_value(
        files: &[PathBuf],
        outcomes: &[FileOutcome],
        summary: &Summary,
        with_history: bool,
        no_timings: bool,
    ) -> String {
        let results: Vec<serde_json::Value> = files
            .iter()
            .zip(outcomes)
            .map(|(file, outcome)| match outcome {
                FileOutcome::Checked(c) => {
                    let mut result = serde_json::to_value(&c.result).unwrap();
                    if no_timings {
                        result.as_object_mut().unwrap().remove("micros");
                        for p in result["partitions"].as_array_mut().unwrap() {
                            p.as_object_mut().unwrap().remove("micros");
                        }
                    }
                    let mut entry = json!({
                        "file": file.display().to_string(),
                        "model": c.model,
                        "verdict": c.result.verdict,
                        "operations": c.operations,
                        "result": result,
                    });
                    if with_history {
                        entry["history"] = json!(c.view_with_data());
                    }
                    entry
                }
                FileOutcome::Error(e) => json!({ "file": file.display().to_string(), "error": e }),
            })
            .collect();
        let doc = json!({
            "version": 1,
            "files": results,
            "summary": {
                "linearizable": summary.ok,
                "illegal": summary.illegal,
                "unknown": summary.unknown,
                "errors": summary.errors,
                "exit_code": summary.exit_code(),
            }
        });
        serde_json::to_string(&doc).unwrap()
    }

    fn checked(text: &'static str, model: &str, options: &Options, explain: bool) -> FileOutcome {
        let raw = read_reader(text.as_bytes(), Some(Format::Jsonl)).unwrap();
        let checked = if explain {
            check_raw_explained(raw, Some(model), options, &ExplainOptions::default())
        } else {
            check_raw(raw, Some(model), options)
        };
        FileOutcome::Checked(Box::new(checked.unwrap()))
    }

    /// Every kind of entry: linearizable, illegal with its prefixes and a counterexample, undecided, an
    /// operation without a response, a failed one, and an unreadable file; with and without the history
    /// and the times.
    #[test]
    fn streamed_document_has_the_bytes_of_the_value() {
        let ok = concat!(
            r#"{"client":0,"call":0,"return":10,"input":{"op":"put","key":"x","value":"1"},"output":{}}"#,
            "\n",
            r#"{"client":1,"call":5,"return":20,"input":{"op":"get","key":"x"},"output":{"value":"1"}}"#,
            "\n",
            r#"{"client":2,"call":6,"return":null,"input":{"op":"append","key":"y","value":"2"}}"#,
            "\n",
            r#"{"client":3,"call":7,"return":8,"failed":true,"input":{"op":"put","key":"y","value":"3"}}"#,
            "\n",
        );
        let stale = concat!(
            r#"{"client":0,"call":0,"return":10,"input":{"op":"put","key":"x","value":"1"},"output":{}}"#,
            "\n",
            r#"{"client":1,"call":20,"return":30,"input":{"op":"get","key":"x"},"output":{"value":""}}"#,
            "\n",
        );
        let described = Options {
            describe_states: true,
            ..Options::default()
        };
        let no_search = Options {
            timeout: Some(std::time::Duration::ZERO),
            ..described.clone()
        };
        let outcomes = vec![
            checked(ok, "kv", &described, false),
            checked(stale, "kv", &described, true),
            checked(stale, "kv", &no_search, false),
            FileOutcome::Error("no such file".into()),
        ];
        let files: Vec<PathBuf> = ["ok.jsonl", "stale.jsonl", "unknown.jsonl", "missing"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let summary = Summary::of(&outcomes);
        // The same files checked without the states described: the document describes them.
        let undescribed = Options {
            describe_states: false,
            ..Options::default()
        };
        let later = vec![
            checked(ok, "kv", &undescribed, false),
            checked(stale, "kv", &undescribed, true),
            checked(
                stale,
                "kv",
                &Options {
                    timeout: Some(std::time::Duration::ZERO),
                    ..undescribed.clone()
                },
                false,
            ),
            FileOutcome::Error("no such file".into()),
        ];
        for with_history in [true, false] {
            for no_timings in [true, false] {
                let expected = as_value(&files, &outcomes, &summary, with_history, no_timings);
                for (outcomes, states_described) in [(&outcomes, true), (&later, false)] {
                    let document = Document {
                        files: &files,
                        outcomes,
                        summary: &summary,
                        with_history,
                        no_timings,
                        states_described,
                    };
                    let streamed = serde_json::to_string(&document).unwrap();
                    if no_timings {
                        assert_eq!(
                            streamed, expected,
                            "with_history {with_history}, states described {states_described}"
                        );
                    } else {
                        assert_eq!(
                            without_micros(&streamed),
                            without_micros(&expected),
                            "with_history {with_history}, states described {states_described}"
                        );
                    }
                }
            }
        }
    }

    /// The document with every `"micros"` field's number zeroed: runs measure different times.
    fn without_micros(document: &str) -> String {
        let mut value: serde_json::Value = serde_json::from_str(document).unwrap();
        fn zero(value: &mut serde_json::Value) {
            match value {
                serde_json::Value::Object(map) => {
                    for (key, v) in map.iter_mut() {
                        if key == "micros" {
                            *v = json!(0);
                        } else {
                            zero(v);
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(zero),
                _ => {}
            }
        }
        zero(&mut value);
        value.to_string()
    }
}
