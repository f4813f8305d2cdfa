//! kvsrv's memory bounds measured two ways: a counting global allocator (net bytes allocated by
//! this thread) and the server's own account ([`kvsrv::Server::retained_bytes`]), which the
//! catalog's memory scenarios use. The two must agree, and both must meet the lab's bounds.
//!
//! The clerks and server are driven directly (no simulator, no history), so that the allocator
//! sees nothing but the server's state change; the tests run on their own threads, and the
//! counter is per thread, so concurrent tests do not disturb each other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kvsrv::{Clerk, Config, Op, Server, Step};

struct Counting;

thread_local! {
    // Const-initialized and without a destructor: using it never allocates.
    static NET: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = NET.try_with(|n| n.set(n.get() + delta));
}

// SAFETY: every method forwards to `System` with the same arguments and only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn net() -> isize {
    NET.with(|n| n.get())
}

/// Runs `op` on `clerk` against `server` to completion over a perfect network.
fn call(server: &mut Server, clerk: &mut Clerk, op: Op) {
    let mut req = clerk.begin(op);
    loop {
        match clerk.on_reply(Some(server.handle(req))) {
            Step::Done(_) => return,
            Step::Send(again) => req = again,
        }
    }
}

/// The growth of the server measured both ways over `f`, in bytes: (allocator, own account).
fn measure(server: &mut Server, f: impl FnOnce(&mut Server)) -> (isize, isize) {
    let (a0, s0) = (net(), server.retained_bytes() as isize);
    f(server);
    (net() - a0, server.retained_bytes() as isize - s0)
}

fn assert_agree(what: &str, alloc: isize, account: isize) {
    // The account models hashbrown's table layout and string capacities exactly; allow 1% for
    // anything an allocator-level view sees that the model does not.
    let slack = (alloc.abs() / 100).max(64);
    assert!(
        (alloc - account).abs() <= slack,
        "{what}: allocator says {alloc} B, the server's account {account} B"
    );
}

const NCLIENT: usize = 100_000;

#[test]
fn put_many_clients_at_most_200_bytes_each() {
    let mut server = Server::new(Config::default());
    let mut clerks: Vec<Clerk> = (0..NCLIENT as u64)
        .map(|i| Clerk::new(i * 7919 + 1))
        .collect();
    let v = "v".repeat(1000);
    let (alloc, account) = measure(&mut server, |s| {
        for ck in &mut clerks {
            call(
                s,
                ck,
                Op::Put {
                    key: "k".into(),
                    value: v.clone(),
                },
            );
        }
    });
    assert_agree("100,000 puts", alloc, account);
    assert!(
        alloc <= (NCLIENT * 200) as isize,
        "{} B per client",
        alloc / NCLIENT as isize
    );
    assert_eq!(server.clients_tracked(), NCLIENT);
}

#[test]
fn get_many_clients_at_most_10_bytes_each() {
    let mut server = Server::new(Config::default());
    let mut ck = Clerk::new(1);
    call(
        &mut server,
        &mut ck,
        Op::Put {
            key: "0".into(),
            value: String::new(),
        },
    );
    let mut clerks: Vec<Clerk> = (0..NCLIENT as u64).map(|i| Clerk::new(i + 2)).collect();
    let (alloc, account) = measure(&mut server, |s| {
        for ck in &mut clerks {
            call(s, ck, Op::Get { key: "0".into() });
        }
    });
    assert_agree("100,000 gets", alloc, account);
    assert!(
        alloc < (NCLIENT * 10) as isize,
        "{alloc} B for {NCLIENT} gets"
    );
}

#[test]
fn a_large_value_is_not_kept_twice() {
    const MIB: usize = 1 << 20;
    let big = "x".repeat(10 * MIB);
    let mut server = Server::new(Config::default());
    let (mut ck0, mut ck1) = (Clerk::new(1), Clerk::new(2));
    // Put then overwrite (TestMemPut2): nothing of the 10 MiB remains.
    let (alloc, account) = measure(&mut server, |s| {
        call(
            s,
            &mut ck0,
            Op::Put {
                key: "k".into(),
                value: big.clone(),
            },
        );
        call(s, &mut ck0, Op::Get { key: "k".into() });
        call(s, &mut ck1, Op::Get { key: "k".into() });
        call(
            s,
            &mut ck1,
            Op::Put {
                key: "k".into(),
                value: String::new(),
            },
        );
    });
    assert_agree("put, get, overwrite", alloc, account);
    assert!(
        alloc < MIB as isize,
        "{alloc} B left after overwriting a 10 MiB value"
    );
    // Two appends (TestMemAppend2): the 20 MiB value and one cached 10 MiB old value.
    let (alloc, account) = measure(&mut server, |s| {
        call(
            s,
            &mut ck0,
            Op::Append {
                key: "a".into(),
                value: big.clone(),
            },
        );
        call(
            s,
            &mut ck1,
            Op::Append {
                key: "a".into(),
                value: big.clone(),
            },
        );
    });
    assert_agree("two appends", alloc, account);
    assert!(
        alloc <= (30 * MIB + 4096) as isize,
        "{alloc} B after two 10 MiB appends"
    );
    // The next write of the second clerk frees its cached old value.
    let (alloc, _) = measure(&mut server, |s| {
        call(
            s,
            &mut ck1,
            Op::Put {
                key: "p".into(),
                value: "1".into(),
            },
        )
    });
    assert!(alloc < -(9 * MIB as isize), "freed only {} B", -alloc);
}

#[test]
fn many_appends_free_old_cached_values() {
    let mut server = Server::new(Config::default());
    let mut ck = Clerk::new(1);
    let v = "y".repeat(1000);
    let (alloc, account) = measure(&mut server, |s| {
        for _ in 0..1000 {
            call(
                s,
                &mut ck,
                Op::Append {
                    key: "k".into(),
                    value: v.clone(),
                },
            );
        }
    });
    assert_agree("1000 appends", alloc, account);
    assert!(alloc < 3 * 1000 * 1000, "{alloc} B");
}
