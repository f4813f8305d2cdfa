//! Broadcast topologies (`--topology`): who each node is told its neighbours are.
//!
//! `grid`: the nodes in a square grid (row-major, side the ceiling of the square root), each linked to the
//! nodes above, below, left and right. `line`: each to the one before and after. `treeK`: a K-ary tree
//! in breadth-first order, linked both ways. `total`: everyone to everyone else.

use std::collections::BTreeMap;

use crate::maelstrom::config::Topology;

pub fn neighbours(topology: Topology, n: usize) -> BTreeMap<String, Vec<String>> {
    let name = |i: usize| format!("n{i}");
    let mut links: BTreeMap<usize, Vec<usize>> = (0..n).map(|i| (i, Vec::new())).collect();
    let mut link = |a: usize, b: usize| {
        links.get_mut(&a).expect("a node").push(b);
        links.get_mut(&b).expect("a node").push(a);
    };
    match topology {
        Topology::Total => {
            for a in 0..n {
                for b in a + 1..n {
                    link(a, b);
                }
            }
        }
        Topology::Line => {
            for a in 1..n {
                link(a - 1, a);
            }
        }
        Topology::Tree(k) => {
            for child in 1..n {
                link((child - 1) / k, child);
            }
        }
        Topology::Grid => {
            let side = (1..).find(|s| s * s >= n).unwrap_or(1);
            for i in 0..n {
                if i % side + 1 < side && i + 1 < n {
                    link(i, i + 1);
                }
                if i + side < n {
                    link(i, i + side);
                }
            }
        }
    }
    links
        .into_iter()
        .map(|(a, mut bs)| {
            bs.sort_unstable();
            (name(a), bs.into_iter().map(name).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let grid = neighbours(Topology::Grid, 5);
        assert_eq!(grid["n0"], ["n1", "n3"]);
        assert_eq!(grid["n4"], ["n1", "n3"]);
        let tree = neighbours(Topology::Tree(2), 5);
        assert_eq!(tree["n1"], ["n0", "n3", "n4"]);
        assert_eq!(neighbours(Topology::Line, 3)["n1"], ["n0", "n2"]);
        assert_eq!(neighbours(Topology::Total, 3)["n2"], ["n0", "n1"]);
    }
}
