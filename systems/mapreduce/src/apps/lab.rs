//! The lab's applications (`src/mrapps/*.go`), one type each; see the table in [`super`].

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{words, App, AppError, AppFuture, KeyValue};
use crate::env::Env;

fn text(contents: &[u8]) -> String {
    // Go converts the bytes to a string and iterates runes: invalid UTF-8 becomes U+FFFD, which
    // is not a letter. Lossy conversion gives the same words.
    String::from_utf8_lossy(contents).into_owned()
}

fn sorted_joined(mut values: Vec<String>, sep: &str) -> String {
    values.sort();
    values.join(sep)
}

/// `wc.go`.
pub struct WordCount;

impl App for WordCount {
    fn name(&self) -> &str {
        "wc"
    }
    fn map(&self, _env: Env, _file: String, contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        Box::pin(async move {
            let text = text(&contents);
            Ok(words(&text)
                .map(|w| (w.to_string(), "1".to_string()))
                .collect())
        })
    }
    fn reduce(&self, _env: Env, _key: String, values: Vec<String>) -> AppFuture<String> {
        Box::pin(async move { Ok(values.len().to_string()) })
    }
}

/// `indexer.go`.
pub struct Indexer;

impl App for Indexer {
    fn name(&self) -> &str {
        "indexer"
    }
    fn map(&self, _env: Env, file: String, contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        Box::pin(async move {
            let text = text(&contents);
            let distinct: BTreeSet<&str> = words(&text).collect();
            Ok(distinct
                .into_iter()
                .map(|w| (w.to_string(), file.clone()))
                .collect())
        })
    }
    fn reduce(&self, _env: Env, _key: String, values: Vec<String>) -> AppFuture<String> {
        Box::pin(async move {
            let n = values.len();
            Ok(format!("{n} {}", sorted_joined(values, ",")))
        })
    }
}

/// `nparallel(phase)` of mtiming.go and rtiming.go: announce this process with a marker file
/// `mr-worker-<phase>-<pid>`, count the marker files whose process is alive, sleep 1 s, and take
/// the marker away. Two workers in the same phase at once each count 2.
async fn nparallel(env: &Env, phase: &str) -> Result<usize, AppError> {
    let pid = env.pid().await?;
    let prefix = format!("mr-worker-{phase}-");
    let mine = format!("{prefix}{pid}");
    env.write_file(&mine, b"x".to_vec()).await??;
    let mut live = 0;
    for name in env.list_dir().await? {
        // Sscanf("mr-worker-<phase>-%d"): the longest run of digits after the prefix.
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(other) = digits.parse::<u32>() {
            if env.alive(other).await? {
                live += 1;
            }
        }
    }
    env.sleep(1000).await?;
    env.remove_file(&mine).await??;
    Ok(live)
}

/// `mtiming.go`: map parallelism.
pub struct MTiming;

impl App for MTiming {
    fn name(&self) -> &str {
        "mtiming"
    }
    fn map(&self, env: Env, _file: String, _contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        Box::pin(async move {
            let t0 = env.now().await?;
            let pid = env.pid().await?;
            let n = nparallel(&env, "map").await?;
            Ok(vec![
                (format!("times-{pid}"), format!("{:.1}", t0 as f64 / 1000.0)),
                (format!("parallel-{pid}"), n.to_string()),
            ])
        })
    }
    fn reduce(&self, _env: Env, _key: String, values: Vec<String>) -> AppFuture<String> {
        Box::pin(async move { Ok(sorted_joined(values, " ")) })
    }
}

/// `rtiming.go`: reduce parallelism.
pub struct RTiming;

impl App for RTiming {
    fn name(&self) -> &str {
        "rtiming"
    }
    fn map(&self, _env: Env, _file: String, _contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        Box::pin(async move {
            Ok(('a'..='j')
                .map(|c| (c.to_string(), "1".to_string()))
                .collect())
        })
    }
    fn reduce(&self, env: Env, _key: String, _values: Vec<String>) -> AppFuture<String> {
        Box::pin(async move { Ok(nparallel(&env, "reduce").await?.to_string()) })
    }
}

/// `jobcount.go`: every map call leaves a marker `mr-worker-jobcount-<pid>-<n>` and sleeps
/// 2-5 s; reduce counts the markers, i.e. the map executions of the whole job.
pub struct JobCount;

impl App for JobCount {
    fn name(&self) -> &str {
        "jobcount"
    }
    fn map(&self, env: Env, _file: String, _contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        Box::pin(async move {
            let pid = env.pid().await?;
            // Go's per-process counter; distinct calls in one process never share a name, and
            // listing the directory for this pid's markers gives the same count without state.
            let prefix = format!("mr-worker-jobcount-{pid}-");
            let n = env
                .list_dir()
                .await?
                .iter()
                .filter(|f| f.starts_with(&prefix))
                .count();
            env.write_file(&format!("{prefix}{n}"), b"x".to_vec())
                .await??;
            let ms = 2000 + env.random(3000).await?;
            env.sleep(ms).await?;
            Ok(vec![("a".to_string(), "x".to_string())])
        })
    }
    fn reduce(&self, env: Env, _key: String, _values: Vec<String>) -> AppFuture<String> {
        Box::pin(async move {
            let n = env
                .list_dir()
                .await?
                .iter()
                .filter(|f| f.starts_with("mr-worker-jobcount"))
                .count();
            Ok(n.to_string())
        })
    }
}

/// `early_exit.go`: reduce is slow (3 s) for keys containing `sherlock` or `tom`, so a worker or
/// coordinator that exits before the last reduce would leave output that later changes.
pub struct EarlyExit;

impl App for EarlyExit {
    fn name(&self) -> &str {
        "early_exit"
    }
    fn map(&self, _env: Env, file: String, _contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        Box::pin(async move { Ok(vec![(file, "1".to_string())]) })
    }
    fn reduce(&self, env: Env, key: String, values: Vec<String>) -> AppFuture<String> {
        Box::pin(async move {
            if key.contains("sherlock") || key.contains("tom") {
                env.sleep(3000).await?;
            }
            Ok(values.len().to_string())
        })
    }
}

/// `maybeCrash()` of crash.go: exit at once with probability 0.33, or else sleep up to 10 s with
/// probability 0.33.
async fn maybe_crash(env: &Env) -> Result<(), AppError> {
    let rr = env.random(1000).await?;
    if rr < 330 {
        env.crash().await;
    } else if rr < 660 {
        let ms = env.random(10_000).await?;
        env.sleep(ms).await?;
    }
    Ok(())
}

fn nocrash_map(file: String, contents: &[u8]) -> Vec<KeyValue> {
    vec![
        ("a".to_string(), file.clone()),
        ("b".to_string(), file.len().to_string()),
        ("c".to_string(), contents.len().to_string()),
        ("d".to_string(), "xyzzy".to_string()),
    ]
}

/// `nocrash.go`: the reference for the crash test.
pub struct NoCrash;

impl App for NoCrash {
    fn name(&self) -> &str {
        "nocrash"
    }
    fn map(&self, _env: Env, file: String, contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        Box::pin(async move { Ok(nocrash_map(file, &contents)) })
    }
    fn reduce(&self, _env: Env, _key: String, values: Vec<String>) -> AppFuture<String> {
        Box::pin(async move { Ok(sorted_joined(values, " ")) })
    }
}

/// `crash.go`: nocrash with `maybe_crash` at the start of every map and reduce call.
pub struct CrashApp;

impl App for CrashApp {
    fn name(&self) -> &str {
        "crash"
    }
    fn map(&self, env: Env, file: String, contents: Arc<[u8]>) -> AppFuture<Vec<KeyValue>> {
        Box::pin(async move {
            maybe_crash(&env).await?;
            Ok(nocrash_map(file, &contents))
        })
    }
    fn reduce(&self, env: Env, _key: String, values: Vec<String>) -> AppFuture<String> {
        Box::pin(async move {
            maybe_crash(&env).await?;
            Ok(sorted_joined(values, " "))
        })
    }
}
