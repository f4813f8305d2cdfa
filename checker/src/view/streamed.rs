//! A described history written as JSON one operation at a time.
//!
//! `quill check --json` prints a history in the bytes of its [`HistoryView`] with data turned into a
//! `serde_json::Value`: every object's keys in sorted order. Building that view, and then that value,
//! for a big history holds it all at once (a million kv operations: about 1 GB as a view, several GB
//! as a value); [`StreamedView`] describes and writes one operation at a time instead, in the same bytes.
//! The serializers below name every key in sorted order and take their structs apart field by field, so
//! a field added to [`OpView`] or [`Annotation`] does not compile until it is written here too.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::{OpJson, OpView};
use crate::history::Annotation;

/// A described history, each operation described when it is written (`describe(i)` for the `i`-th).
pub struct StreamedView<'a, F> {
    model: &'a str,
    annotations: &'a [Annotation],
    time_unit: Option<&'a str>,
    operations: usize,
    describe: F,
}

impl<'a, F: Fn(usize) -> OpView> StreamedView<'a, F> {
    /// The view of a history of `model` with `operations` operations, the `i`-th described by
    /// `describe(i)`.
    pub fn new(
        model: &'a str,
        annotations: &'a [Annotation],
        time_unit: Option<&'a str>,
        operations: usize,
        describe: F,
    ) -> Self {
        StreamedView {
            model,
            annotations,
            time_unit,
            operations,
            describe,
        }
    }
}

impl<F: Fn(usize) -> OpView> Serialize for StreamedView<'_, F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut view = serializer.serialize_struct("HistoryView", 4)?;
        if !self.annotations.is_empty() {
            let annotations: Vec<_> = self.annotations.iter().map(SortedAnnotation).collect();
            view.serialize_field("annotations", &annotations)?;
        }
        view.serialize_field("model", self.model)?;
        view.serialize_field("operations", &Operations(self))?;
        if let Some(unit) = self.time_unit {
            view.serialize_field("time_unit", unit)?;
        }
        view.end()
    }
}

struct Operations<'v, 'a, F>(&'v StreamedView<'a, F>);

impl<F: Fn(usize) -> OpView> Serialize for Operations<'_, '_, F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let view = self.0;
        serializer.collect_seq((0..view.operations).map(|i| SortedOp((view.describe)(i))))
    }
}

struct SortedOp(OpView);

impl Serialize for SortedOp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let OpView {
            client,
            call,
            ret,
            input,
            output,
            failed,
            json,
        } = &self.0;
        let mut op = serializer.serialize_struct("OpView", 7)?;
        op.serialize_field("call", call)?;
        op.serialize_field("client", client)?;
        if *failed {
            op.serialize_field("failed", failed)?;
        }
        op.serialize_field("input", input)?;
        if let Some(json) = json {
            op.serialize_field("json", &SortedJson(json))?;
        }
        op.serialize_field("output", output)?;
        op.serialize_field("return", ret)?;
        op.end()
    }
}

struct SortedJson<'a>(&'a OpJson);

impl Serialize for SortedJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Both are `serde_json::Value`s already, whose maps keep their keys sorted.
        let OpJson { input, output } = self.0;
        let mut json = serializer.serialize_struct("OpJson", 2)?;
        json.serialize_field("input", input)?;
        json.serialize_field("output", output)?;
        json.end()
    }
}

struct SortedAnnotation<'a>(&'a Annotation);

impl Serialize for SortedAnnotation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Annotation {
            client,
            tag,
            start,
            end,
            text,
        } = self.0;
        let mut annotation = serializer.serialize_struct("Annotation", 5)?;
        if let Some(client) = client {
            annotation.serialize_field("client", client)?;
        }
        annotation.serialize_field("end", end)?;
        annotation.serialize_field("start", start)?;
        if let Some(tag) = tag {
            annotation.serialize_field("tag", tag)?;
        }
        annotation.serialize_field("text", text)?;
        annotation.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Kv, KvInput, KvOutput};
    use crate::view::HistoryView;
    use crate::{History, Operation};

    /// The streamed bytes are those of the view turned into a `Value`, with and without annotations,
    /// failed and pending operations, with and without data.
    #[test]
    fn same_bytes_as_the_view_as_a_value() {
        let put = |key: &str, value: &str| KvInput::Put {
            key: key.into(),
            value: value.into(),
        };
        let get = |key: &str| KvInput::Get { key: key.into() };
        let mut failed = Operation::new(2, 3, 4, put("y", "b"), KvOutput::default());
        failed.failed = true;
        let mut history = History::new(vec![
            Operation::new(0, 0, 10, put("x", "a \"q\""), KvOutput::default()),
            Operation::new(
                1,
                5,
                30,
                get("x"),
                KvOutput {
                    value: Some("a".into()),
                },
            ),
            Operation::pending(3, 7, put("x", "c")),
            failed,
        ]);
        for annotations in [
            vec![],
            vec![
                Annotation {
                    client: None,
                    tag: Some("nemesis".into()),
                    start: 1,
                    end: 9,
                    text: "partition".into(),
                },
                Annotation {
                    client: Some(2),
                    tag: None,
                    start: 2,
                    end: 3,
                    text: "crash".into(),
                },
            ],
        ] {
            history.annotations = annotations;
            for (time_unit, with_data) in [(None, true), (Some("ns"), true), (None, false)] {
                let mut view = if with_data {
                    HistoryView::with_data(&Kv, "kv", &history)
                } else {
                    HistoryView::new(&Kv, "kv", &history)
                };
                view.time_unit = time_unit.map(str::to_string);
                let expected =
                    serde_json::to_string(&serde_json::to_value(&view).unwrap()).unwrap();
                let streamed =
                    StreamedView::new("kv", &history.annotations, time_unit, history.len(), |i| {
                        view.operations[i].clone()
                    });
                assert_eq!(serde_json::to_string(&streamed).unwrap(), expected);
            }
        }
    }
}
