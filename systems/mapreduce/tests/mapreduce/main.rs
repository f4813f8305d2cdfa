//! The MapReduce core by its effects: the coordinator's replies and events, the exact needs of a
//! worker, the applications, and the sequential reference.

mod apps;
mod coordinator;
mod script;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;

use mapreduce::{Got, Need};

/// An in-memory directory that answers the file needs at once (and nothing else).
#[derive(Default)]
pub struct MemDir {
    pub files: BTreeMap<String, Arc<[u8]>>,
}

impl MemDir {
    pub fn with(files: &[(&str, &str)]) -> Self {
        let mut d = MemDir::default();
        for (name, text) in files {
            d.files.insert(name.to_string(), Arc::from(text.as_bytes()));
        }
        d
    }

    pub fn text(&self, name: &str) -> &str {
        std::str::from_utf8(&self.files[name]).unwrap()
    }

    /// Answers a file need; `None` for anything else.
    pub fn answer(&mut self, need: &Need) -> Option<Got> {
        let io = |op, path: &str| mapreduce::IoError {
            op,
            path: path.to_string(),
            message: "no such file".into(),
        };
        Some(match need {
            Need::ReadFile { path } => Got::Bytes(
                self.files
                    .get(path)
                    .cloned()
                    .ok_or_else(|| io("read", path)),
            ),
            Need::WriteFile { path, bytes } => {
                self.files.insert(path.clone(), Arc::from(&bytes[..]));
                Got::Done(Ok(()))
            }
            Need::Rename { from, to } => match self.files.remove(from) {
                Some(f) => {
                    self.files.insert(to.clone(), f);
                    Got::Done(Ok(()))
                }
                None => Got::Done(Err(io("rename", from))),
            },
            Need::RemoveFile { path } => match self.files.remove(path) {
                Some(_) => Got::Done(Ok(())),
                None => Got::Done(Err(io("remove", path))),
            },
            Need::ListDir => Got::Names(self.files.keys().cloned().collect()),
            _ => return None,
        })
    }
}
