//! Recording the history of a system of one's own with [`checker::recorder`], and checking it.
//!
//! Run it with `cargo run -p quill-checker --example recorder`. The system under test is a small in-memory
//! key/value store (get, put, append) behind a "network" that sometimes loses a response or rejects a
//! request. Four client threads use it at once; around every request each client does what a test of a
//! real service does:
//!
//! 1. `recorder.call(client, input)` just before sending, which returns a ticket;
//! 2. `ticket.ok(output)` when the response comes, `ticket.fail()` when the server said it did nothing,
//!    or nothing at all (the ticket is dropped) when the outcome is unknown, as on a timeout;
//! 3. after an unknown outcome, the client goes on under a new id, since its lost request may still take
//!    effect later (the same rule as Jepsen's processes).
//!
//! The history streams to a JSON Lines file as it is recorded, so `quill check FILE` could check it even
//! had this process died half way. The example checks it twice: in memory (`recorder.check`) and from the
//! file (the path `quill check` takes). Then it runs the same clients against a store with a bug (reads
//! served from a replica that is refreshed only every few writes) and shows the checker catching the
//! stale read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use checker::formats::read_path;
use checker::models::{Kv, KvInput, KvOutput};
use checker::recorder::Recorder;
use checker::{CheckResult, Options};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The store under test. With `stale_reads`, gets are served from a copy refreshed every fourth write.
struct Store {
    primary: Mutex<HashMap<String, String>>,
    replica: Mutex<HashMap<String, String>>,
    writes: AtomicU64,
    stale_reads: bool,
}

/// What the "network" did with a request.
enum Delivery {
    /// The server applied it and the response came back.
    Answered(KvOutput),
    /// The server applied it but the response was lost.
    Lost,
    /// The server refused it before doing anything.
    Rejected,
}

impl Store {
    fn new(stale_reads: bool) -> Self {
        Store {
            primary: Mutex::default(),
            replica: Mutex::default(),
            writes: AtomicU64::new(0),
            stale_reads,
        }
    }

    fn apply(&self, input: &KvInput) -> KvOutput {
        let mut primary = self.primary.lock().unwrap();
        let output = match input {
            KvInput::Get { key } => {
                let source = if self.stale_reads {
                    self.replica.lock().unwrap().clone()
                } else {
                    primary.clone()
                };
                let value = source.get(&**key).cloned().unwrap_or_default();
                return KvOutput {
                    value: Some(value.into()),
                };
            }
            KvInput::Put { key, value } => {
                primary.insert(key.to_string(), value.to_string());
                KvOutput::default()
            }
            KvInput::Append { key, value } => {
                let slot = primary.entry(key.to_string()).or_default();
                let previous = slot.clone();
                slot.push_str(value);
                // Like the kvsrv lab's Append, return the value replaced, so the checker can use it.
                KvOutput {
                    value: Some(previous.into()),
                }
            }
        };
        if self.writes.fetch_add(1, Ordering::SeqCst) % 4 == 3 {
            *self.replica.lock().unwrap() = primary.clone();
        }
        output
    }

    /// Sends a request through a network that loses one response in 20 and rejects one request in 20.
    fn request(&self, input: &KvInput, rng: &mut ChaCha8Rng) -> Delivery {
        match rng.gen_range(0..20) {
            0 => Delivery::Rejected,
            1 => {
                self.apply(input);
                Delivery::Lost
            }
            _ => Delivery::Answered(self.apply(input)),
        }
    }
}

/// Runs `clients` threads of `ops` operations each against `store`, recording into `recorder`.
fn run_clients(
    store: Arc<Store>,
    recorder: &Recorder<KvInput, KvOutput>,
    clients: u64,
    ops: usize,
) {
    // Client ids: thread t uses t, then t + clients, t + 2 * clients, ... after each unknown outcome.
    let handles: Vec<_> = (0..clients)
        .map(|thread_id| {
            let store = Arc::clone(&store);
            let recorder = recorder.clone();
            thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(thread_id);
                let mut client = thread_id;
                for _ in 0..ops {
                    let key: Arc<str> = ["x", "y"][rng.gen_range(0..2)].into();
                    let value: Arc<str> = rng.gen_range(0..10).to_string().into();
                    let input = match rng.gen_range(0..3) {
                        0 => KvInput::Get { key },
                        1 => KvInput::Put { key, value },
                        _ => KvInput::Append { key, value },
                    };
                    let ticket = recorder.call(client, input.clone());
                    match store.request(&input, &mut rng) {
                        Delivery::Answered(output) => ticket.ok(output),
                        Delivery::Rejected => ticket.fail(),
                        Delivery::Lost => {
                            drop(ticket); // unknown: it happened, but the client cannot know
                            client += clients;
                        }
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a client thread panicked");
    }
}

fn summary(result: &CheckResult) -> String {
    format!(
        "{} ({} partitions, {} states, {} us)",
        result.verdict,
        result.partitions.len(),
        result.states_explored(),
        result.micros
    )
}

/// Records and checks the correct store, in memory and from its JSON Lines file.
fn correct_store(path: &std::path::Path) -> (CheckResult, CheckResult) {
    let recorder = Recorder::jsonl(path, "kv").expect("create the history file");
    run_clients(Arc::new(Store::new(false)), &recorder, 4, 150);
    if let Some(err) = recorder.take_error() {
        panic!("streaming the history failed: {err}");
    }
    let in_memory = recorder.check(&Kv, &Options::default()).expect("check");
    let raw = read_path(path, None).expect("read the JSON Lines file");
    let from_file = checker::dynamic::check_raw(raw, None, &Options::default())
        .expect("check the file")
        .result;
    (in_memory, from_file)
}

/// Records and checks the store with stale reads.
fn buggy_store() -> CheckResult {
    let recorder = Recorder::new();
    run_clients(Arc::new(Store::new(true)), &recorder, 4, 150);
    recorder.check(&Kv, &Options::default()).expect("check")
}

fn main() {
    let path = std::env::temp_dir().join("quill-recorder-example.jsonl");
    let (in_memory, from_file) = correct_store(&path);
    println!("correct store, in memory: {}", summary(&in_memory));
    println!(
        "correct store, from {}: {}",
        path.display(),
        summary(&from_file)
    );
    let buggy = buggy_store();
    println!("store with stale reads: {}", summary(&buggy));
    for partition in buggy.illegal() {
        for partial in &partition.partial {
            println!(
                "  key {}: {} operations linearized, then operation {} could not follow",
                partition.label,
                partial.steps.len(),
                partial.blocking
            );
        }
    }
}

#[test]
fn the_correct_store_is_linearizable_and_the_stale_one_is_not() {
    let path = std::env::temp_dir().join(format!(
        "quill-recorder-example-test-{}.jsonl",
        std::process::id()
    ));
    let (in_memory, from_file) = correct_store(&path);
    assert_eq!(in_memory.verdict, checker::Verdict::Ok);
    assert_eq!(from_file.verdict, checker::Verdict::Ok);
    // The file holds every operation: the header and 4 x 150 lines.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1 + 600);
    std::fs::remove_file(&path).ok();
    let buggy = buggy_store();
    assert_eq!(buggy.verdict, checker::Verdict::Illegal);
    assert!(buggy.illegal().all(|p| !p.partial.is_empty()));
}
