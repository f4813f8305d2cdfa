//! `mutex`: a lock without owners, Knossos's mutex. It starts unlocked; `acquire` is legal only when it is
//! unlocked (and locks it), `release` only when it is locked (and unlocks it). No owner is tracked: a
//! release by another client than the one that acquired is legal, as in Knossos.
//!
//! JSON: `{"op":"acquire"}` and `{"op":"release"}`; outputs carry nothing (`{}` or null).

use serde::{Deserialize, Serialize};

use crate::model::Model;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum MutexInput {
    Acquire,
    Release,
}

/// A mutex operation reports nothing beyond having completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MutexOutput {}

/// The mutex model; its state is "locked".
#[derive(Debug, Clone, Copy, Default)]
pub struct Mutex;

impl Model for Mutex {
    type State = bool;
    type Input = MutexInput;
    type Output = MutexOutput;

    fn init(&self) -> bool {
        false
    }

    fn step(
        &self,
        locked: &bool,
        input: &MutexInput,
        _output: Option<&MutexOutput>,
    ) -> Option<bool> {
        match (input, locked) {
            (MutexInput::Acquire, false) => Some(true),
            (MutexInput::Release, true) => Some(false),
            _ => None,
        }
    }

    fn describe_input(&self, input: &MutexInput) -> String {
        match input {
            MutexInput::Acquire => "acquire()".to_string(),
            MutexInput::Release => "release()".to_string(),
        }
    }

    fn describe_output(&self, _input: &MutexInput, _output: &MutexOutput) -> String {
        String::new()
    }

    fn describe_state(&self, locked: &bool) -> String {
        if *locked { "locked" } else { "unlocked" }.to_string()
    }
}
