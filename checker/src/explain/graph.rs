//! The constraint graph of a partition, and its shortest cycle.
//!
//! Nodes are operations; an edge `a -> b` says that every linearization puts `a` before `b`: because `a`
//! returned before `b` was called (real time), or because the values force it ([`Model::value_orders`]).
//! A cycle is then a set of operations that no order can satisfy: a violation, proved edge by edge.
//!
//! Real time is an interval order, so it is transitive: two real-time edges in a row can be replaced by one.
//! A shortest cycle therefore never passes through an operation that no value order touches, and the graph
//! holds only those (with every real-time edge among them). An order that holds under a condition (a
//! read-write order holds once the write its read started from precedes the other write) is added when an
//! edge shows the condition, and carries that edge as its premise (`given`). Among the shortest cycles, the first found is
//! kept, searching from the operations in history order and their successors in history order, so the
//! cycle is a function of the history alone.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::history::History;
use crate::model::{Model, ValueOrder};
use crate::verdict::{CycleEdge, Why};

/// The largest number of operations with value orders for which the graph is built; beyond it the
/// real-time edges alone would take too much memory, and the explanation falls back to shrinking.
const MAX_NODES: usize = 3_000;

/// How many times conditional orders are matched against the edges known so far.
const CONDITION_ROUNDS: usize = 4;

/// How many edges the cycle search may visit in all before it keeps the shortest cycle found so far.
const MAX_VISITS: usize = 50_000_000;

/// The shortest cycle among the operations `ops` (history indices, none failed), if there is one.
pub(crate) fn shortest_cycle<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    ops: &[usize],
) -> Option<Vec<CycleEdge>> {
    let members: BTreeSet<usize> = ops.iter().copied().collect();
    let mut orders = model.value_orders(&history.operations, ops);
    orders.retain(|o| o.from != o.to && members.contains(&o.from) && members.contains(&o.to));
    orders.sort();
    // Orders that hold outright first; those that hold once their `since` precedes their `to` are added
    // after, when the graph has an edge that shows it.
    let (conditional, outright): (Vec<ValueOrder>, Vec<ValueOrder>) = orders
        .into_iter()
        .partition(|o| o.why.condition(o.from, o.to).is_some());
    let mut edges: BTreeMap<(usize, usize), Reason> = BTreeMap::new();
    for order in outright {
        edges.entry((order.from, order.to)).or_insert(Reason {
            why: order.why.into(),
            text: order.text,
            given: None,
        });
    }
    let mut nodes: BTreeSet<usize> = edges.keys().flat_map(|&(a, b)| [a, b]).collect();
    for order in &conditional {
        nodes.extend([order.from, order.to]);
    }
    let nodes: Vec<usize> = nodes.into_iter().collect();
    if nodes.is_empty() || nodes.len() > MAX_NODES {
        return None;
    }
    let op = |i: usize| &history.operations[i];
    for &a in &nodes {
        let Some(ret) = op(a).ret else { continue };
        for &b in &nodes {
            if ret < op(b).call {
                // Real time is the plainer reason: it replaces a value order between the same two.
                edges.insert(
                    (a, b),
                    Reason {
                        why: Why::RealTime,
                        text: format!(
                            "#{a} returned (at {ret}) before #{b} was called (at {})",
                            op(b).call
                        ),
                        given: None,
                    },
                );
            }
        }
    }
    // A conditional order joins the graph once an edge shows its condition; that can take a few rounds,
    // as each order added may be the condition of another.
    let mut pending = conditional;
    for _ in 0..CONDITION_ROUNDS {
        let mut added = Vec::new();
        pending.retain(|order| {
            let key = (order.from, order.to);
            if edges.contains_key(&key) {
                return false;
            }
            let (a, b) = order
                .why
                .condition(order.from, order.to)
                .expect("conditional");
            let Some(premise) = edges.get(&(a, b)) else {
                return true;
            };
            let given = CycleEdge {
                from: a,
                to: b,
                why: premise.why.clone(),
                text: premise.text.clone(),
                given: premise.given.clone(),
            };
            added.push((
                key,
                Reason {
                    why: order.why.clone().into(),
                    text: order.text.clone(),
                    given: Some(Box::new(given)),
                },
            ));
            false
        });
        if added.is_empty() {
            break;
        }
        for (key, reason) in added {
            edges.entry(key).or_insert(reason);
        }
    }
    // The shortest cycles have two edges: look for those first, in order.
    if let Some((&(a, b), _)) = edges
        .iter()
        .find(|(&(a, b), reason)| reason.why != Why::RealTime && edges.contains_key(&(b, a)))
    {
        return Some(tell(&edges, &[a, b]));
    }
    let mut graph: DiGraph<usize, ()> = DiGraph::with_capacity(nodes.len(), edges.len());
    let index: BTreeMap<usize, NodeIndex> = nodes.iter().map(|&i| (i, graph.add_node(i))).collect();
    for &(a, b) in edges.keys() {
        graph.add_edge(index[&a], index[&b], ());
    }
    // Successors in history order, whatever order petgraph keeps them in.
    let successors: Vec<Vec<NodeIndex>> = graph
        .node_indices()
        .map(|n| {
            let mut next: Vec<NodeIndex> = graph.edges(n).map(|e| e.target()).collect();
            next.sort_by_key(|&m| graph[m]);
            next
        })
        .collect();
    let mut components: Vec<Vec<NodeIndex>> = tarjan_scc(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|mut c| {
            c.sort_by_key(|&m| graph[m]);
            c
        })
        .collect();
    components.sort_by_key(|c| graph[c[0]]);
    let mut best: Option<Vec<NodeIndex>> = None;
    let mut visits = 0usize;
    'search: for component in &components {
        let inside: BTreeSet<NodeIndex> = component.iter().copied().collect();
        for &source in component {
            if visits >= MAX_VISITS {
                break 'search;
            }
            let bound = best.as_ref().map_or(usize::MAX, Vec::len);
            if let Some(cycle) = cycle_through(source, &successors, &inside, bound, &mut visits) {
                let done = cycle.len() == 3;
                best = Some(cycle);
                if done {
                    // Two-edge cycles were ruled out above: three is the shortest left.
                    break 'search;
                }
            }
        }
    }
    let cycle: Vec<usize> = best?.into_iter().map(|n| graph[n]).collect();
    Some(tell(&edges, &cycle))
}

/// The shortest cycle from `source` back to it within `inside`, if shorter than `bound` operations, by
/// breadth-first search.
fn cycle_through(
    source: NodeIndex,
    successors: &[Vec<NodeIndex>],
    inside: &BTreeSet<NodeIndex>,
    bound: usize,
    visits: &mut usize,
) -> Option<Vec<NodeIndex>> {
    let mut parent: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
    let mut depth: BTreeMap<NodeIndex, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([source]);
    depth.insert(source, 1);
    while let Some(at) = queue.pop_front() {
        let d = depth[&at];
        if d >= bound {
            return None;
        }
        for &next in &successors[at.index()] {
            *visits += 1;
            if next == source {
                let mut cycle = vec![at];
                while let Some(&p) = parent.get(cycle.last().expect("non-empty")) {
                    cycle.push(p);
                }
                cycle.reverse();
                return Some(cycle);
            }
            if inside.contains(&next) && !depth.contains_key(&next) {
                depth.insert(next, d + 1);
                parent.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

/// The cycle through `ops` (each before the next, the last before the first) with each edge's reason.
fn tell(edges: &BTreeMap<(usize, usize), Reason>, ops: &[usize]) -> Vec<CycleEdge> {
    (0..ops.len())
        .map(|k| {
            let (from, to) = (ops[k], ops[(k + 1) % ops.len()]);
            let reason = edges[&(from, to)].clone();
            CycleEdge {
                from,
                to,
                why: reason.why,
                text: reason.text,
                given: reason.given,
            }
        })
        .collect()
}

/// Why an edge of the graph holds.
#[derive(Clone)]
struct Reason {
    why: Why,
    text: String,
    given: Option<Box<CycleEdge>>,
}
