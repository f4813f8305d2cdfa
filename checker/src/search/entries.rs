//! The call and return entries of one partition, in real-time order, as a doubly linked list.
//!
//! This is the list of Lowe's just-in-time linearization (and Porcupine's): placing an operation *lifts*
//! its call and return entries out of the list, and undoing it puts them back in place ("dancing links"),
//! both in O(1). Entries are sorted by time with calls before returns at equal times, which makes intervals
//! closed: an operation called at the instant another returns is concurrent with it. Operations with no
//! response get a return entry after every real one (return at +infinity).

pub(crate) const NIL: u32 = u32::MAX;
pub(crate) const HEAD: u32 = 0;

pub(crate) struct Entries {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Per node: the local operation and whether it is the call (true) or the return.
    op: Vec<u32>,
    is_call: Vec<bool>,
    /// Per local operation: its call and return nodes.
    call_node: Vec<u32>,
    ret_node: Vec<u32>,
    /// Per local operation: no response (its return is at +infinity).
    pending: Vec<bool>,
}

impl Entries {
    /// `spans[i]` is local operation i's (call, return); `None` for no response.
    pub(crate) fn new(spans: &[(i64, Option<i64>)]) -> Self {
        let n = spans.len();
        // (time, 0 call / 1 return / 2 return at infinity, op): the tuple order is the list order.
        let mut order: Vec<(i64, u8, u32)> = Vec::with_capacity(2 * n);
        for (i, &(call, ret)) in spans.iter().enumerate() {
            order.push((call, 0, i as u32));
            match ret {
                Some(r) => order.push((r, 1, i as u32)),
                None => order.push((i64::MAX, 2, i as u32)),
            }
        }
        order.sort_unstable();
        let nodes = order.len() + 1;
        let mut entries = Entries {
            next: (1..=nodes as u32).collect(),
            prev: Vec::with_capacity(nodes),
            op: Vec::with_capacity(nodes),
            is_call: Vec::with_capacity(nodes),
            call_node: vec![0; n],
            ret_node: vec![0; n],
            pending: spans.iter().map(|s| s.1.is_none()).collect(),
        };
        entries.next[nodes - 1] = NIL;
        entries.prev.push(NIL);
        entries.op.push(u32::MAX);
        entries.is_call.push(false);
        for (k, &(_, kind, op)) in order.iter().enumerate() {
            let node = (k + 1) as u32;
            entries.prev.push(node - 1);
            entries.op.push(op);
            entries.is_call.push(kind == 0);
            if kind == 0 {
                entries.call_node[op as usize] = node;
            } else {
                entries.ret_node[op as usize] = node;
            }
        }
        entries
    }

    pub(crate) fn first(&self) -> u32 {
        self.next[HEAD as usize]
    }

    pub(crate) fn next(&self, node: u32) -> u32 {
        self.next[node as usize]
    }

    /// The entry before `node`, or the head (0) when it is the first.
    pub(crate) fn prev(&self, node: u32) -> u32 {
        self.prev[node as usize]
    }

    pub(crate) fn op(&self, node: u32) -> usize {
        self.op[node as usize] as usize
    }

    pub(crate) fn is_call(&self, node: u32) -> bool {
        self.is_call[node as usize]
    }

    pub(crate) fn is_pending(&self, op: usize) -> bool {
        self.pending[op]
    }

    pub(crate) fn ret_node(&self, op: usize) -> u32 {
        self.ret_node[op]
    }

    fn unlink(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = n;
        if n != NIL {
            self.prev[n as usize] = p;
        }
    }

    fn relink(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = node;
        if n != NIL {
            self.prev[n as usize] = node;
        }
    }

    /// Removes an operation's call and return entries.
    pub(crate) fn lift(&mut self, op: usize) {
        self.unlink(self.call_node[op]);
        self.unlink(self.ret_node[op]);
    }

    /// Puts back the entries of the operation lifted last (undo in reverse order).
    pub(crate) fn unlift(&mut self, op: usize) {
        self.relink(self.ret_node[op]);
        self.relink(self.call_node[op]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(e: &Entries) -> Vec<(usize, bool)> {
        let mut out = vec![];
        let mut n = e.first();
        while n != NIL {
            out.push((e.op(n), e.is_call(n)));
            n = e.next(n);
        }
        out
    }

    #[test]
    fn equal_times_put_calls_first_and_pending_last() {
        // op0: [0, 5]; op1: [5, 9]; op2: [1, -]
        let e = Entries::new(&[(0, Some(5)), (5, Some(9)), (1, None)]);
        assert_eq!(
            walk(&e),
            vec![
                (0, true),
                (2, true),
                (1, true),
                (0, false),
                (1, false),
                (2, false)
            ]
        );
    }

    #[test]
    fn lift_and_unlift_restore_the_list() {
        let mut e = Entries::new(&[(0, Some(5)), (1, Some(3)), (2, Some(8))]);
        let before = walk(&e);
        e.lift(1);
        e.lift(0);
        assert_eq!(walk(&e), vec![(2, true), (2, false)]);
        e.unlift(0);
        e.unlift(1);
        assert_eq!(walk(&e), before);
    }
}
