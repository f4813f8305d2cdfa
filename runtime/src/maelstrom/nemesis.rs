//! The nemesis: faults switched on and off in turn, about every `--nemesis-interval`.
//!
//! Each round waits an interval, picks one of the enabled faults (seeded), applies it, waits another
//! interval and heals it. Partitions take one of four shapes chosen at random over a random order of the
//! nodes: one node isolated, a third of the nodes cut off, two halves, or a ring of majorities (each node
//! sees itself and its nearest neighbours in the ring, a majority, and no two nodes see the same one).
//! `one-way` splits the nodes in halves and drops only the messages from the first half to the second.
//! `loss` and `duplicate` affect `--fault-fraction` of the messages between nodes. `kill` kills a random
//! node and restarts it at the end of the fault; `pause` stops and continues one. Every fault is kept as an
//! annotation of the timeline.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use checker::Annotation;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;

use super::config::Fault;
use super::network::{Faults, Network};

/// What the nemesis does to the nodes' processes (the runner provides it).
pub trait Processes: Send + Sync {
    fn kill(&self, node: usize) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    fn restart(&self, node: usize) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    fn pause(&self, node: usize, paused: bool);
}

/// One fault as applied.
enum Applied {
    Net(Faults, String),
    Kill(usize),
    Pause(usize),
}

fn describe_cut(cut: &BTreeSet<(usize, usize)>) -> String {
    let pairs: Vec<String> = cut.iter().map(|(a, b)| format!("n{a}->n{b}")).collect();
    pairs.join(" ")
}

fn components(groups: &[Vec<usize>]) -> BTreeSet<(usize, usize)> {
    let mut cut = BTreeSet::new();
    for (gi, g) in groups.iter().enumerate() {
        for (hi, h) in groups.iter().enumerate() {
            if gi != hi {
                for &a in g {
                    for &b in h {
                        cut.insert((a, b));
                    }
                }
            }
        }
    }
    cut
}

fn show(groups: &[Vec<usize>]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| {
            let names: Vec<String> = g.iter().map(|i| format!("n{i}")).collect();
            format!("[{}]", names.join(" "))
        })
        .collect();
    parts.join(" | ")
}

/// A random two-way partition of `n` nodes, and its description.
pub fn partition(n: usize, rng: &mut ChaCha8Rng) -> (BTreeSet<(usize, usize)>, String) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    match rng.gen_range(0..4) {
        0 => {
            let groups = vec![order[..1].to_vec(), order[1..].to_vec()];
            (
                components(&groups),
                format!("partition one {}", show(&groups)),
            )
        }
        1 => {
            let k = (n / 3).max(1);
            let groups = vec![order[..k].to_vec(), order[k..].to_vec()];
            (
                components(&groups),
                format!("partition third {}", show(&groups)),
            )
        }
        2 => {
            let k = (n / 2).max(1);
            let groups = vec![order[..k].to_vec(), order[k..].to_vec()];
            (
                components(&groups),
                format!("partition halves {}", show(&groups)),
            )
        }
        _ => {
            // The node at ring position p hears from the positions within `reach` of p: a majority.
            let reach = (n / 2).div_ceil(2);
            let mut cut = BTreeSet::new();
            for p in 0..n {
                for q in 0..n {
                    let d = p.abs_diff(q);
                    if d.min(n - d) > reach {
                        cut.insert((order[q], order[p]));
                    }
                }
            }
            if cut.is_empty() {
                // Too few nodes for a ring: halves instead.
                let groups = vec![order[..n / 2].to_vec(), order[n / 2..].to_vec()];
                return (
                    components(&groups),
                    format!("partition halves {}", show(&groups)),
                );
            }
            let description = format!("partition majorities-ring {}", describe_cut(&cut));
            (cut, description)
        }
    }
}

pub struct Nemesis {
    pub faults: Vec<Fault>,
    pub interval: Duration,
    pub fraction: f64,
    pub node_count: usize,
    pub rng: ChaCha8Rng,
}

/// Waits `d`, or returns false early when `stop` turns true.
async fn wait(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    let stopped = tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    !stopped && !*stop.borrow()
}

impl Nemesis {
    /// Runs until `stop`, then heals whatever is on. Returns the faults as annotations (times from
    /// `now`).
    pub async fn run(
        mut self,
        net: Arc<Network>,
        processes: Arc<dyn Processes>,
        now: impl Fn() -> i64 + Send,
        mut stop: watch::Receiver<bool>,
    ) -> Vec<Annotation> {
        let mut notes = Vec::new();
        if self.faults.is_empty() {
            return notes;
        }
        loop {
            // Jitter each wait by up to a quarter, so rounds do not beat with the clients.
            let jitter = |rng: &mut ChaCha8Rng, d: Duration| d.mul_f64(rng.gen_range(0.75..1.25));
            let d = jitter(&mut self.rng, self.interval);
            if !wait(d, &mut stop).await {
                break;
            }
            let fault = *self
                .faults
                .choose(&mut self.rng)
                .expect("faults are not empty");
            let n = self.node_count;
            let applied = match fault {
                Fault::Partition => {
                    let (cut, text) = partition(n, &mut self.rng);
                    Applied::Net(
                        Faults {
                            cut,
                            ..Faults::default()
                        },
                        text,
                    )
                }
                Fault::OneWay => {
                    let mut order: Vec<usize> = (0..n).collect();
                    order.shuffle(&mut self.rng);
                    let k = (n / 2).max(1);
                    let mut cut = BTreeSet::new();
                    for &a in &order[..k] {
                        for &b in &order[k..] {
                            cut.insert((a, b));
                        }
                    }
                    let text = format!("one-way {}", describe_cut(&cut));
                    Applied::Net(
                        Faults {
                            cut,
                            ..Faults::default()
                        },
                        text,
                    )
                }
                Fault::Loss => Applied::Net(
                    Faults {
                        loss: self.fraction,
                        ..Faults::default()
                    },
                    format!("loss {:.0}%", self.fraction * 100.0),
                ),
                Fault::Duplicate => Applied::Net(
                    Faults {
                        duplicate: self.fraction,
                        ..Faults::default()
                    },
                    format!("duplicate {:.0}%", self.fraction * 100.0),
                ),
                Fault::Kill => Applied::Kill(self.rng.gen_range(0..n)),
                Fault::Pause => Applied::Pause(self.rng.gen_range(0..n)),
            };
            let start = now();
            let text = match &applied {
                Applied::Net(faults, text) => {
                    net.set_faults(faults.clone());
                    text.clone()
                }
                Applied::Kill(i) => {
                    processes.kill(*i).await;
                    format!("kill n{i}")
                }
                Applied::Pause(i) => {
                    processes.pause(*i, true);
                    format!("pause n{i}")
                }
            };
            let d = jitter(&mut self.rng, self.interval);
            let go_on = wait(d, &mut stop).await;
            match applied {
                Applied::Net(..) => net.set_faults(Faults::default()),
                Applied::Kill(i) => processes.restart(i).await,
                Applied::Pause(i) => processes.pause(i, false),
            }
            notes.push(Annotation {
                client: None,
                tag: Some("nemesis".into()),
                start,
                end: now(),
                text,
            });
            if !go_on {
                break;
            }
        }
        net.set_faults(Faults::default());
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn partitions_cut_both_ways_and_leave_every_node_a_component() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let (cut, text) = partition(5, &mut rng);
            assert!(!cut.is_empty(), "{text}");
            for &(a, b) in &cut {
                assert_ne!(a, b);
                assert!(cut.contains(&(b, a)), "{text}: two-way");
            }
            if text.contains("majorities-ring") {
                // Each node still hears from a majority (itself included).
                for b in 0..5 {
                    let cut_off = (0..5).filter(|a| cut.contains(&(*a, b))).count();
                    assert!(5 - cut_off >= 3, "{text}");
                }
            }
        }
    }
}
