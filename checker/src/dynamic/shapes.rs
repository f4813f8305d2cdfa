//! What the built-in models' operations look like in the JSON formats, so that a history that does not
//! say what the checker needs is an error rather than a pass.
//!
//! For each operation (`"op"`): the keys its input has (all required), the keys its output may have, and
//! the result a completed operation must report. A get, a read, a cas, a dequeue and a set's read report
//! one; without it the operation would constrain nothing, and a history missing every result would pass.
//! So a completed operation that needs a result and has none, or has it under another key, is an error;
//! a result that is not known is said explicitly (`"output": "unknown"`, or `"return": null`).
//!
//! JSON's rule for `null` (`docs/history-format.md`): `null` is a value, "absent", where the model has
//! one (a register that holds nothing, a queue that is empty); it never means "unknown". A kv value and a
//! cas's `ok` have no absent value, so `null` there is an error. The multi-register model keeps
//! Knossos's reading of a null read inside a transaction (legal whatever the key holds).
//!
//! These checks apply to the JSON formats only; the other formats have their own rules, applied by their
//! readers.

use serde_json::Value as Json;

use crate::formats::keys::{self, Rejected};
use crate::formats::Reported;

/// A model's operations.
pub(crate) struct ModelShape {
    pub(crate) name: &'static str,
    ops: &'static [OpShape],
    /// The keys of the micro-operations under `"ops"` (multi-register); such models are typed the
    /// careful way only, which checks them.
    nested: Option<&'static [&'static str]>,
}

struct OpShape {
    op: &'static str,
    /// The keys of the input besides `"op"`; each is required.
    input: &'static [&'static str],
    /// The keys the output may have.
    output: &'static [&'static str],
    /// The output's keys of which `null` is a value ("absent").
    null: &'static [&'static str],
    /// What a completed operation must report: the key, and an example.
    needs: Option<(&'static str, &'static str)>,
}

/// An operation that reports nothing (or, for `output`, something optional).
const fn op(
    op: &'static str,
    input: &'static [&'static str],
    output: &'static [&'static str],
) -> OpShape {
    OpShape {
        op,
        input,
        output,
        null: &[],
        needs: None,
    }
}

/// An operation that reports nothing, but whose output may carry `value: null` (as Quill writes a
/// register's write: the output type has a field it leaves null).
const fn quiet(op: &'static str, input: &'static [&'static str]) -> OpShape {
    OpShape {
        op,
        input,
        output: VALUE,
        null: VALUE,
        needs: None,
    }
}

/// An operation that must report `key` when it completes.
const fn reporting(
    op: &'static str,
    input: &'static [&'static str],
    output: &'static [&'static str],
    null: &'static [&'static str],
    example: &'static str,
) -> OpShape {
    OpShape {
        op,
        input,
        output,
        null,
        needs: Some((output[0], example)),
    }
}

const VALUE: &[&str] = &["value"];

const KV: &[OpShape] = &[
    reporting("get", &["key"], VALUE, &[], r#"{"value": "a"}"#),
    op("put", &["key", "value"], &[]),
    op("append", &["key", "value"], VALUE),
];
const REGISTER: &[OpShape] = &[
    reporting("read", &[], VALUE, VALUE, r#"{"value": 1}"#),
    quiet("write", &["value"]),
];
const CAS_REGISTER: &[OpShape] = &[
    reporting("read", &[], VALUE, VALUE, r#"{"value": 1}"#),
    quiet("write", &["value"]),
    reporting(
        "cas",
        &["from", "to"],
        &["ok", "value"],
        VALUE,
        r#"{"ok": true}"#,
    ),
];
const MUTEX: &[OpShape] = &[op("acquire", &[], &[]), op("release", &[], &[])];
const MULTI_REGISTER: &[OpShape] = &[op("txn", &["ops"], &["ops"])];
const QUEUE: &[OpShape] = &[
    quiet("enqueue", &["value"]),
    reporting("dequeue", &[], VALUE, VALUE, r#"{"value": 1}"#),
];
const SET: &[OpShape] = &[
    op("add", &["value"], &[]),
    reporting("read", &[], VALUE, &[], r#"{"value": [1, 2]}"#),
];

const MODELS: &[ModelShape] = &[
    ModelShape {
        name: "kv",
        ops: KV,
        nested: None,
    },
    ModelShape {
        name: "register",
        ops: REGISTER,
        nested: None,
    },
    ModelShape {
        name: "cas-register",
        ops: CAS_REGISTER,
        nested: None,
    },
    ModelShape {
        name: "mutex",
        ops: MUTEX,
        nested: None,
    },
    ModelShape {
        name: "multi-register",
        ops: MULTI_REGISTER,
        nested: Some(&["f", "key", "value"]),
    },
    ModelShape {
        name: "queue",
        ops: QUEUE,
        nested: None,
    },
    ModelShape {
        name: "set",
        ops: SET,
        nested: None,
    },
];

/// The shape of the built-in model `name`.
pub(crate) fn of(name: &str) -> Option<&'static ModelShape> {
    MODELS.iter().find(|m| m.name == name)
}

impl ModelShape {
    /// Whether lines of this model may be typed the fast way (see `crate::formats::fast_operation`).
    pub(crate) fn fast(&self) -> bool {
        self.nested.is_none()
    }

    fn names(&self) -> Vec<&'static str> {
        self.ops.iter().map(|o| o.op).collect()
    }

    /// Checks an operation given by its `op`, its input's keys (with `"op"`, each with whether its
    /// value is null) and what its output reports; `completed`: it returned and did not fail.
    pub(crate) fn check(
        &self,
        op: &str,
        input: &[(&str, bool)],
        output: Reported<'_>,
        completed: bool,
    ) -> Result<(), Rejected> {
        let Some(shape) = self.ops.iter().find(|o| o.op == op) else {
            let names = self.names();
            let hint = keys::nearest(op, &names)
                .map(|n| format!(" (did you mean \"{n}\"?)"))
                .unwrap_or_default();
            return Err(Rejected(format!(
                "unknown {} operation \"{op}\"{hint}; known: {}",
                self.name,
                names.join(", ")
            )));
        };
        let mut known = vec!["op"];
        known.extend_from_slice(shape.input);
        let what = format!("the input of a {op}");
        if let Some((key, _)) = input.iter().find(|(k, _)| !known.contains(k)) {
            return Err(Rejected(keys::unknown(key, &what, &known)));
        }
        if let Some(missing) = shape
            .input
            .iter()
            .find(|k| !input.iter().any(|(i, _)| i == *k))
        {
            return Err(Rejected(format!("{what} needs \"{missing}\"")));
        }
        let reported = match output {
            Reported::Nothing => None,
            Reported::Object(keys) => Some(keys),
        };
        if let Some(keys) = reported {
            if let Some((key, _)) = keys.iter().find(|(k, _)| !shape.output.contains(k)) {
                if shape.output.is_empty() {
                    return Err(Rejected(format!(
                        "unknown key \"{key}\" in the output of a {op}: a {op} reports nothing (its output is null or {{}})"
                    )));
                }
                return Err(Rejected(keys::unknown(
                    key,
                    &format!("the output of a {op}"),
                    shape.output,
                )));
            }
        }
        let unknown_hint =
            "if its result is unknown, say \"output\": \"unknown\" (or \"return\": null)";
        if let Some((key, _)) = reported
            .unwrap_or_default()
            .iter()
            .find(|(key, null)| *null && !shape.null.contains(key))
        {
            return Err(Rejected(format!(
                "\"{key}\": null is not a {} {op}'s result; {unknown_hint}",
                self.name
            )));
        }
        let Some((need, example)) = shape.needs.filter(|_| completed) else {
            return Ok(());
        };
        if reported.is_some_and(|keys| keys.iter().any(|(k, _)| *k == need)) {
            return Ok(());
        }
        Err(Rejected(format!(
            "a completed {op} must report its result, as in \"output\": {example}; {unknown_hint}"
        )))
    }

    /// [`ModelShape::check`] for an operation read as JSON values (the careful road): also that the
    /// input and the output are objects, and the keys of nested micro-operations.
    pub(crate) fn check_json(
        &self,
        input: &Json,
        output: Option<&Json>,
        completed: bool,
    ) -> Result<(), Rejected> {
        let example = format!("{{\"op\": \"{}\", ...}}", self.ops[0].op);
        let Json::Object(fields) = input else {
            return Err(Rejected(format!(
                "the input must be an object such as {example}, not {}",
                keys::kind(input)
            )));
        };
        let Some(Json::String(op)) = fields.get("op") else {
            return Err(Rejected(format!(
                "the input needs \"op\", a string: one of {}",
                self.names().join(", ")
            )));
        };
        let input_keys: Vec<(&str, bool)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.is_null()))
            .collect();
        let output_keys: Option<Vec<(&str, bool)>> = match output {
            None | Some(Json::Null) => None,
            Some(Json::Object(fields)) => {
                Some(fields.iter().map(|(k, v)| (k.as_str(), v.is_null())).collect())
            }
            Some(other) => {
                return Err(Rejected(format!(
                    "the output must be an object (or null when there is nothing to report, or \"unknown\"), not {}",
                    keys::kind(other)
                )))
            }
        };
        let reported = match &output_keys {
            Some(keys) => Reported::Object(keys),
            None => Reported::Nothing,
        };
        self.check(op, &input_keys, reported, completed)?;
        if let Some(micro) = self.nested {
            for (side, value) in [("input", Some(input)), ("output", output)] {
                let Some(Json::Array(ops)) = value.and_then(|v| v.get("ops")) else {
                    continue;
                };
                for (i, m) in ops.iter().enumerate() {
                    if let Json::Object(m) = m {
                        keys::check(m, &format!("micro-operation {i} of the {side}"), micro)?;
                    }
                }
            }
        }
        Ok(())
    }
}
