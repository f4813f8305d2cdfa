//! The sequential reference (`mrsequential.go`): the expected output of a job.
//!
//! It maps every input file in order, sorts all pairs by key (stably), reduces each key once and
//! writes the lines `key output` in key order: the contents of the reference's `mr-out-0`. Like the
//! worker it is a [`Coroutine`]: it reads the inputs (and runs external programs) through its
//! driver. Compare a job's output with it through [`canonical`], the script's
//! `sort mr-out* | grep .`.

use std::rc::Rc;

use crate::apps::{App, AppError};
use crate::env::{Coroutine, IoError};
use crate::worker::{group, reduce_groups};

/// Why the reference could not produce its output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SequentialError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("{app}: {source}")]
    App { app: String, source: AppError },
}

/// `mrsequential app files...`: yields the reference output (the bytes of its `mr-out-0`).
pub fn sequential(
    app: Rc<dyn App>,
    files: Vec<String>,
) -> Coroutine<Result<Vec<u8>, SequentialError>> {
    Coroutine::new(move |env| async move {
        let fail = |source: AppError| SequentialError::App {
            app: app.name().to_string(),
            source,
        };
        let mut kvs = Vec::new();
        for file in files {
            let contents = env.read_file(&file).await.map_err(|e| fail(e.into()))??;
            kvs.extend(app.map(env.clone(), file, contents).await.map_err(fail)?);
        }
        reduce_groups(&env, &*app, group(kvs)).await.map_err(fail)
    })
}

/// The script's `sort mr-out* | grep .`: every non-empty line of the given files, sorted
/// bytewise, each followed by a newline.
pub fn canonical<'a>(files: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = files
        .into_iter()
        .flat_map(|f| f.split(|&b| b == b'\n'))
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort_unstable();
    let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}
