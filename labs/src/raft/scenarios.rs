//! The 28 tests of the Raft lab (3A-3D), as scenarios in virtual time.
//!
//! Each function follows its Go original (`src/raft/test_test.go`, 2024) step by step: same
//! set-up, same faults, same assertions, with `time.Sleep` as a virtual sleep, goroutines as
//! [`Cluster::spawn`]ed tasks and `rand.Int()` drawn from the scenario's seeded stream.

use std::cell::RefCell;
use std::rc::Rc;

use super::world::{
    cmd, cmd_value, run_cluster, show, Cluster, ELECTION_TIMEOUT, MAX_LOG_SIZE, SNAPSHOT_INTERVAL,
};
use crate::fail;
use crate::failure::Failure;
use crate::runner::{Catalog, RunOptions, Scenario, ScenarioOutcome};

type R = Result<(), Failure>;

// ----- 3A: leader election ------------------------------------------------------------------------

async fn initial_election(c: Rc<Cluster>) -> R {
    c.check_one_leader().await?;
    // Sleep a bit to avoid racing with followers learning of the election.
    c.sleep(50).await;
    let term1 = c.check_terms()?;
    if term1 < 1 {
        fail!("term is {term1}, but should be at least 1");
    }
    // Does the leader+term stay the same if there is no network failure?
    c.sleep(2 * ELECTION_TIMEOUT).await;
    let term2 = c.check_terms()?;
    if term1 != term2 {
        c.warn("term changed even though there were no failures");
    }
    c.check_one_leader().await?;
    Ok(())
}

async fn re_election(c: Rc<Cluster>) -> R {
    let servers = c.n();
    let leader1 = c.check_one_leader().await?;
    // If the leader disconnects, a new one should be elected.
    c.disconnect(leader1);
    c.check_one_leader().await?;
    // If the old leader rejoins, that shouldn't disturb the new leader.
    c.connect(leader1);
    let leader2 = c.check_one_leader().await?;
    // If there's no quorum, no new leader should be elected.
    c.disconnect(leader2);
    c.disconnect((leader2 + 1) % servers);
    c.sleep(2 * ELECTION_TIMEOUT).await;
    c.check_no_leader()?;
    // If a quorum arises, it should elect a leader.
    c.connect((leader2 + 1) % servers);
    c.check_one_leader().await?;
    // Re-join of last node shouldn't prevent leader from existing.
    c.connect(leader2);
    c.check_one_leader().await?;
    Ok(())
}

async fn many_elections(c: Rc<Cluster>) -> R {
    let servers = c.n() as u64;
    c.check_one_leader().await?;
    for _ in 1..10 {
        // Disconnect three nodes (possibly the same one twice).
        let (i1, i2, i3) = (
            c.rand(servers) as usize,
            c.rand(servers) as usize,
            c.rand(servers) as usize,
        );
        c.disconnect(i1);
        c.disconnect(i2);
        c.disconnect(i3);
        // Either the current leader should still be alive, or the remaining four elect a new one.
        c.check_one_leader().await?;
        c.connect(i1);
        c.connect(i2);
        c.connect(i3);
    }
    c.check_one_leader().await?;
    Ok(())
}

// ----- 3B: log replication ------------------------------------------------------------------------

async fn basic_agree(c: Rc<Cluster>) -> R {
    let servers = c.n();
    for index in 1..=3u64 {
        let (nd, _) = c.n_committed(index)?;
        if nd > 0 {
            fail!("some have committed before Start()");
        }
        let xindex = c.one(cmd(index * 100), servers, false).await?;
        if xindex != index {
            fail!("got index {xindex} but expected {index}");
        }
    }
    Ok(())
}

async fn rpc_bytes(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(99), servers, false).await?;
    let bytes0 = c.bytes_total();
    let mut sent = 0u64;
    for index in 2..12u64 {
        let command = c.rand_bytes(5000);
        sent += command.len() as u64;
        let xindex = c.one(command, servers, false).await?;
        if xindex != index {
            fail!("got index {xindex} but expected {index}");
        }
    }
    let got = c.bytes_total() - bytes0;
    let expected = servers as u64 * sent;
    if got > expected + 50000 {
        fail!("too many RPC bytes; got {got}, expected {expected}");
    }
    Ok(())
}

async fn follower_failure(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(101), servers, false).await?;
    // Disconnect one follower from the network.
    let leader1 = c.check_one_leader().await?;
    c.disconnect((leader1 + 1) % servers);
    // The leader and remaining follower should be able to agree.
    c.one(cmd(102), servers - 1, false).await?;
    c.sleep(ELECTION_TIMEOUT).await;
    c.one(cmd(103), servers - 1, false).await?;
    // Disconnect the remaining follower.
    let leader2 = c.check_one_leader().await?;
    c.disconnect((leader2 + 1) % servers);
    c.disconnect((leader2 + 2) % servers);
    // Submit a command.
    let Some((index, _, ok)) = c.start_cmd(leader2, cmd(104)) else {
        fail!("leader {leader2} is down")
    };
    if !ok {
        fail!("leader rejected Start()");
    }
    if index != 4 {
        fail!("expected index 4, got {index}");
    }
    c.sleep(2 * ELECTION_TIMEOUT).await;
    // Check that command 104 did not commit.
    c.check_no_agreement(index)
}

async fn leader_failure(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(101), servers, false).await?;
    // Disconnect the first leader.
    let leader1 = c.check_one_leader().await?;
    c.disconnect(leader1);
    // The remaining followers should elect a new leader.
    c.one(cmd(102), servers - 1, false).await?;
    c.sleep(ELECTION_TIMEOUT).await;
    c.one(cmd(103), servers - 1, false).await?;
    // Disconnect the new leader.
    let leader2 = c.check_one_leader().await?;
    c.disconnect(leader2);
    // Submit a command to each server.
    for i in 0..servers {
        c.start_cmd(i, cmd(104));
    }
    c.sleep(2 * ELECTION_TIMEOUT).await;
    // Check that command 104 did not commit.
    c.check_no_agreement(4)
}

async fn fail_agree(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(101), servers, false).await?;
    // Disconnect one follower from the network.
    let leader = c.check_one_leader().await?;
    c.disconnect((leader + 1) % servers);
    // The leader and remaining follower should be able to agree.
    c.one(cmd(102), servers - 1, false).await?;
    c.one(cmd(103), servers - 1, false).await?;
    c.sleep(ELECTION_TIMEOUT).await;
    c.one(cmd(104), servers - 1, false).await?;
    c.one(cmd(105), servers - 1, false).await?;
    // Re-connect.
    c.connect((leader + 1) % servers);
    // The full set of servers should preserve previous agreements and agree on new commands.
    c.one(cmd(106), servers, true).await?;
    c.sleep(ELECTION_TIMEOUT).await;
    c.one(cmd(107), servers, true).await?;
    Ok(())
}

async fn fail_no_agree(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(10), servers, false).await?;
    // 3 of 5 followers disconnect.
    let leader = c.check_one_leader().await?;
    for k in 1..=3 {
        c.disconnect((leader + k) % servers);
    }
    let Some((index, _, ok)) = c.start_cmd(leader, cmd(20)) else {
        fail!("leader {leader} is down")
    };
    if !ok {
        fail!("leader rejected Start()");
    }
    if index != 2 {
        fail!("expected index 2, got {index}");
    }
    c.sleep(2 * ELECTION_TIMEOUT).await;
    let (n, _) = c.n_committed(index)?;
    if n > 0 {
        fail!("{n} committed but no majority");
    }
    // Repair.
    for k in 1..=3 {
        c.connect((leader + k) % servers);
    }
    // The disconnected majority may have chosen a leader from among their own ranks, forgetting index 2.
    let leader2 = c.check_one_leader().await?;
    let Some((index2, _, ok2)) = c.start_cmd(leader2, cmd(30)) else {
        fail!("leader2 {leader2} is down")
    };
    if !ok2 {
        fail!("leader2 rejected Start()");
    }
    if !(2..=3).contains(&index2) {
        fail!("unexpected index {index2}");
    }
    c.one(cmd(1000), servers, true).await?;
    Ok(())
}

async fn concurrent_starts(c: Rc<Cluster>) -> R {
    let servers = c.n();
    'attempt: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            c.sleep(3000).await;
        }
        let leader = c.check_one_leader().await?;
        let Some((_, term, true)) = c.start_cmd(leader, cmd(1)) else {
            // The leader moved on really quickly.
            continue;
        };
        // Five "concurrent" Starts: goroutines that do not yield run one after another.
        let mut indexes = Vec::new();
        for ii in 0..5u64 {
            if let Some((i, term1, true)) = c.start_cmd(leader, cmd(100 + ii)) {
                if term1 == term {
                    indexes.push(i);
                }
            }
        }
        for j in 0..servers {
            if c.get_state(j).is_some_and(|(t, _)| t != term) {
                // Term changed -- can't expect low RPC counts.
                continue 'attempt;
            }
        }
        let mut cmds = Vec::new();
        for index in indexes {
            match c.wait(index, servers, Some(term)).await? {
                None => continue 'attempt, // peers moved on to later terms
                Some(v) => match cmd_value(&v) {
                    Some(x) => cmds.push(x),
                    None => fail!("value {} is not an int", show(&v)),
                },
            }
        }
        for ii in 0..5u64 {
            let x = 100 + ii;
            if !cmds.contains(&x) {
                fail!("cmd {x} missing in {cmds:?}");
            }
        }
        return Ok(());
    }
    fail!("term changed too often")
}

async fn rejoin(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(101), servers, true).await?;
    // Leader network failure.
    let leader1 = c.check_one_leader().await?;
    c.disconnect(leader1);
    // Make the old leader try to agree on some entries.
    for x in [102, 103, 104] {
        c.start_cmd(leader1, cmd(x));
    }
    // New leader commits, also for index=2.
    c.one(cmd(103), 2, true).await?;
    // New leader network failure.
    let leader2 = c.check_one_leader().await?;
    c.disconnect(leader2);
    // Old leader connected again.
    c.connect(leader1);
    c.one(cmd(104), 2, true).await?;
    // All together now.
    c.connect(leader2);
    c.one(cmd(105), servers, true).await?;
    Ok(())
}

async fn backup(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(c.rand_value()), servers, true).await?;
    // Put the leader and one follower in a partition.
    let leader1 = c.check_one_leader().await?;
    for k in 2..=4 {
        c.disconnect((leader1 + k) % servers);
    }
    // Submit lots of commands that won't commit.
    for _ in 0..50 {
        c.start_cmd(leader1, cmd(c.rand_value()));
    }
    c.sleep(ELECTION_TIMEOUT / 2).await;
    c.disconnect(leader1 % servers);
    c.disconnect((leader1 + 1) % servers);
    // Allow the other partition to recover.
    for k in 2..=4 {
        c.connect((leader1 + k) % servers);
    }
    // Lots of successful commands to the new group.
    for _ in 0..50 {
        c.one(cmd(c.rand_value()), 3, true).await?;
    }
    // Now another partitioned leader and one follower.
    let leader2 = c.check_one_leader().await?;
    let mut other = (leader1 + 2) % servers;
    if leader2 == other {
        other = (leader2 + 1) % servers;
    }
    c.disconnect(other);
    // Lots more commands that won't commit.
    for _ in 0..50 {
        c.start_cmd(leader2, cmd(c.rand_value()));
    }
    c.sleep(ELECTION_TIMEOUT / 2).await;
    // Bring the original leader back to life.
    for i in 0..servers {
        c.disconnect(i);
    }
    c.connect(leader1 % servers);
    c.connect((leader1 + 1) % servers);
    c.connect(other);
    // Lots of successful commands to the new group.
    for _ in 0..50 {
        c.one(cmd(c.rand_value()), 3, true).await?;
    }
    // Now everyone.
    for i in 0..servers {
        c.connect(i);
    }
    c.one(cmd(c.rand_value()), servers, true).await?;
    Ok(())
}

async fn count(c: Rc<Cluster>) -> R {
    let servers = c.n();
    let rpcs = |c: &Cluster| (0..servers).map(|j| c.rpc_count(j)).sum::<u64>();
    c.check_one_leader().await?;
    let total1 = rpcs(&c);
    if !(1..=30).contains(&total1) {
        fail!("too many or few RPCs ({total1}) to elect initial leader");
    }
    let iters = 10u64;
    let mut total2 = 0;
    let mut success = false;
    'attempt: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            c.sleep(3000).await;
        }
        let leader = c.check_one_leader().await?;
        let total1 = rpcs(&c);
        let Some((starti, term, true)) = c.start_cmd(leader, cmd(1)) else {
            continue;
        };
        let mut cmds = Vec::new();
        for i in 1..iters + 2 {
            let x = c.rand(1 << 31);
            cmds.push(x);
            let Some((index1, term1, ok)) = c.start_cmd(leader, cmd(x)) else {
                continue 'attempt;
            };
            if term1 != term || !ok {
                continue 'attempt;
            }
            if starti + i != index1 {
                fail!("Start() failed: the command should be at index {}, but the leader put it at {index1}", starti + i);
            }
        }
        for i in 1..iters + 1 {
            match c.wait(starti + i, servers, Some(term)).await? {
                None => continue 'attempt,
                Some(v) if cmd_value(&v) == Some(cmds[i as usize - 1]) => {}
                Some(v) => fail!(
                    "wrong value {} committed for index {}; expected {:?}",
                    show(&v),
                    starti + i,
                    cmds
                ),
            }
        }
        let mut failed = false;
        total2 = 0;
        for j in 0..servers {
            if c.get_state(j).is_some_and(|(t, _)| t != term) {
                // Term changed -- can't expect low RPC counts.
                failed = true;
            }
            total2 += c.rpc_count(j);
        }
        if failed {
            continue;
        }
        if total2 - total1 > (iters + 1 + 3) * 3 {
            fail!("too many RPCs ({}) for {iters} entries", total2 - total1);
        }
        success = true;
        break;
    }
    if !success {
        fail!("term changed too often");
    }
    c.sleep(ELECTION_TIMEOUT).await;
    let total3 = rpcs(&c);
    if total3 - total2 > 3 * 20 {
        fail!(
            "too many RPCs ({}) for 1 second of idleness",
            total3 - total2
        );
    }
    Ok(())
}

// ----- 3C: persistence ----------------------------------------------------------------------------

/// `start1(i)` followed by `connect(i)`.
fn restart(c: &Cluster, i: usize) {
    c.start1(i);
    c.connect(i);
}

async fn persist1(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(11), servers, true).await?;
    // Crash and re-start all.
    for i in 0..servers {
        c.start1(i);
    }
    for i in 0..servers {
        c.disconnect(i);
        c.connect(i);
    }
    c.one(cmd(12), servers, true).await?;
    let leader1 = c.check_one_leader().await?;
    c.disconnect(leader1);
    restart(&c, leader1);
    c.one(cmd(13), servers, true).await?;
    let leader2 = c.check_one_leader().await?;
    c.disconnect(leader2);
    c.one(cmd(14), servers - 1, true).await?;
    restart(&c, leader2);
    // Wait for leader2 to join before killing i3.
    c.wait(4, servers, None).await?;
    let i3 = (c.check_one_leader().await? + 1) % servers;
    c.disconnect(i3);
    c.one(cmd(15), servers - 1, true).await?;
    restart(&c, i3);
    c.one(cmd(16), servers, true).await?;
    Ok(())
}

async fn persist2(c: Rc<Cluster>) -> R {
    let servers = c.n();
    let mut index = 1;
    for _ in 0..5 {
        c.one(cmd(10 + index), servers, true).await?;
        index += 1;
        let leader1 = c.check_one_leader().await?;
        c.disconnect((leader1 + 1) % servers);
        c.disconnect((leader1 + 2) % servers);
        c.one(cmd(10 + index), servers - 2, true).await?;
        index += 1;
        c.disconnect(leader1 % servers);
        c.disconnect((leader1 + 3) % servers);
        c.disconnect((leader1 + 4) % servers);
        c.start1((leader1 + 1) % servers);
        c.start1((leader1 + 2) % servers);
        c.connect((leader1 + 1) % servers);
        c.connect((leader1 + 2) % servers);
        c.sleep(ELECTION_TIMEOUT).await;
        restart(&c, (leader1 + 3) % servers);
        c.one(cmd(10 + index), servers - 2, true).await?;
        index += 1;
        c.connect((leader1 + 4) % servers);
        c.connect(leader1 % servers);
    }
    c.one(cmd(1000), servers, true).await?;
    Ok(())
}

async fn persist3(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(101), 3, true).await?;
    let leader = c.check_one_leader().await?;
    c.disconnect((leader + 2) % servers);
    c.one(cmd(102), 2, true).await?;
    c.crash1(leader % servers);
    c.crash1((leader + 1) % servers);
    c.connect((leader + 2) % servers);
    restart(&c, leader % servers);
    c.one(cmd(103), 2, true).await?;
    restart(&c, (leader + 1) % servers);
    c.one(cmd(104), servers, true).await?;
    Ok(())
}

/// Sleeps like the Figure 8 tests: usually 0-12 ms, with probability 10% up to half an election timeout.
async fn figure8_pause(c: &Cluster) {
    let ms = if c.rand(1000) < 100 {
        c.rand(ELECTION_TIMEOUT / 2)
    } else {
        c.rand(13)
    };
    c.sleep(ms).await;
}

async fn figure8(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(c.rand_value()), 1, true).await?;
    let mut nup = servers;
    for _ in 0..1000 {
        let mut leader = None;
        for i in 0..servers {
            if let Some((_, _, true)) = c.start_cmd(i, cmd(c.rand_value())) {
                leader = Some(i);
            }
        }
        figure8_pause(&c).await;
        if let Some(l) = leader {
            c.crash1(l);
            nup -= 1;
        }
        if nup < 3 {
            let s = c.rand(servers as u64) as usize;
            if !c.is_alive(s) {
                restart(&c, s);
                nup += 1;
            }
        }
    }
    for i in 0..servers {
        if !c.is_alive(i) {
            restart(&c, i);
        }
    }
    c.one(cmd(c.rand_value()), servers, true).await?;
    Ok(())
}

async fn unreliable_agree(c: Rc<Cluster>) -> R {
    let servers = c.n();
    let running = Rc::new(RefCell::new(0usize));
    for iters in 1..50u64 {
        for j in 0..4u64 {
            *running.borrow_mut() += 1;
            let (c2, running2) = (c.clone(), running.clone());
            c.spawn(async move {
                if let Err(f) = c2.one(cmd(100 * iters + j), 1, true).await {
                    c2.fail(f);
                }
                *running2.borrow_mut() -= 1;
            });
        }
        c.one(cmd(iters), 1, true).await?;
    }
    c.set_reliable(true);
    // wg.Wait()
    while *running.borrow() > 0 {
        c.sleep(10).await;
    }
    c.one(cmd(100), servers, true).await?;
    Ok(())
}

async fn figure8_unreliable(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(c.rand(10000)), 1, true).await?;
    let mut nup = servers;
    for iters in 0..1000 {
        if iters == 200 {
            c.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            let ok = matches!(c.start_cmd(i, cmd(c.rand(10000))), Some((_, _, true)));
            if ok && c.is_connected(i) {
                leader = Some(i);
            }
        }
        figure8_pause(&c).await;
        if let Some(l) = leader {
            if c.rand(1000) < ELECTION_TIMEOUT / 2 {
                c.disconnect(l);
                nup -= 1;
            }
        }
        if nup < 3 {
            let s = c.rand(servers as u64) as usize;
            if !c.is_connected(s) {
                c.connect(s);
                nup += 1;
            }
        }
    }
    for i in 0..servers {
        if !c.is_connected(i) {
            c.connect(i);
        }
    }
    c.one(cmd(c.rand(10000)), servers, true).await?;
    Ok(())
}

async fn churn(c: Rc<Cluster>) -> R {
    let servers = c.n();
    let stop = Rc::new(RefCell::new(false));
    let ncli = 3;
    let results: Rc<RefCell<Vec<Option<Vec<u64>>>>> = Rc::new(RefCell::new(vec![None; ncli]));
    for me in 0..ncli {
        let (c2, stop2, results2) = (c.clone(), stop.clone(), results.clone());
        c.spawn(async move {
            let mut values = Vec::new();
            while !*stop2.borrow() {
                let x = c2.rand_value();
                let mut index = None;
                for i in 0..servers {
                    // Try them all, maybe one of them is a leader.
                    if let Some((index1, _, true)) = c2.start_cmd(i, cmd(x)) {
                        index = Some(index1);
                    }
                }
                if let Some(index) = index {
                    // Maybe the leader will commit our value, maybe not; don't wait forever.
                    for to in [10, 20, 50, 100, 200] {
                        match c2.n_committed(index) {
                            Err(f) => {
                                c2.fail(f);
                                return;
                            }
                            Ok((nd, Some(v))) if nd > 0 => {
                                if cmd_value(&v) == Some(x) {
                                    values.push(x);
                                }
                                break;
                            }
                            Ok(_) => {}
                        }
                        c2.sleep(to).await;
                    }
                } else {
                    c2.sleep(79 + me as u64 * 17).await;
                }
            }
            results2.borrow_mut()[me] = Some(values);
        });
    }
    for _ in 0..20 {
        if c.rand(1000) < 200 {
            let i = c.rand(servers as u64) as usize;
            c.disconnect(i);
        }
        if c.rand(1000) < 500 {
            let i = c.rand(servers as u64) as usize;
            if !c.is_alive(i) {
                c.start1(i);
            }
            c.connect(i);
        }
        if c.rand(1000) < 200 {
            let i = c.rand(servers as u64) as usize;
            if c.is_alive(i) {
                c.crash1(i);
            }
        }
        // Infrequent enough that the peers can often keep up, but not so infrequent that
        // everything settles between changes: a bit less than the election timeout.
        c.sleep(ELECTION_TIMEOUT * 7 / 10).await;
    }
    c.sleep(ELECTION_TIMEOUT).await;
    c.set_reliable(true);
    for i in 0..servers {
        if !c.is_alive(i) {
            c.start1(i);
        }
        c.connect(i);
    }
    *stop.borrow_mut() = true;
    // Receive from each client's channel.
    let mut values = Vec::new();
    for i in 0..ncli {
        loop {
            let done = results.borrow_mut()[i].take();
            match done {
                Some(v) => {
                    values.extend(v);
                    break;
                }
                None => c.sleep(10).await,
            }
        }
    }
    c.sleep(ELECTION_TIMEOUT).await;
    let last_index = c.one(cmd(c.rand_value()), servers, true).await?;
    let mut really = Vec::new();
    for index in 1..=last_index {
        let Some(v) = c.wait(index, servers, None).await? else {
            fail!("wait returned no value")
        };
        match cmd_value(&v) {
            Some(x) => really.push(x),
            None => fail!("not an int"),
        }
    }
    for v1 in values {
        if !really.contains(&v1) {
            fail!("didn't find a value");
        }
    }
    Ok(())
}

// ----- 3D: log compaction -------------------------------------------------------------------------

async fn snapcommon(c: Rc<Cluster>, disconnect: bool, crash: bool) -> R {
    let servers = c.n();
    c.one(cmd(c.rand_value()), servers, true).await?;
    let mut leader1 = c.check_one_leader().await?;
    for i in 0..30 {
        let mut victim = (leader1 + 1) % servers;
        let mut sender = leader1;
        if i % 3 == 1 {
            sender = (leader1 + 1) % servers;
            victim = leader1;
        }
        if disconnect {
            c.disconnect(victim);
            c.one(cmd(c.rand_value()), servers - 1, true).await?;
        }
        if crash {
            c.crash1(victim);
            c.one(cmd(c.rand_value()), servers - 1, true).await?;
        }
        // Perhaps send enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + c.rand(SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            c.start_cmd(sender, cmd(c.rand_value()));
        }
        // Let applier threads catch up with the Start()s.
        if !disconnect && !crash {
            // Make sure all followers have caught up, so that an InstallSnapshot RPC isn't
            // required for TestSnapshotBasic3D.
            c.one(cmd(c.rand_value()), servers, true).await?;
        } else {
            c.one(cmd(c.rand_value()), servers - 1, true).await?;
        }
        let size = c.log_size();
        if size >= MAX_LOG_SIZE {
            fail!("Log size too large ({size} bytes >= {MAX_LOG_SIZE})");
        }
        if disconnect {
            // Reconnect a follower, who may be behind and need a snapshot to catch up.
            c.connect(victim);
            c.one(cmd(c.rand_value()), servers, true).await?;
            leader1 = c.check_one_leader().await?;
        }
        if crash {
            restart(&c, victim);
            c.one(cmd(c.rand_value()), servers, true).await?;
            leader1 = c.check_one_leader().await?;
        }
    }
    Ok(())
}

async fn snapshot_all_crash(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(c.rand_value()), servers, true).await?;
    for _ in 0..5 {
        // Perhaps enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + c.rand(SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            c.one(cmd(c.rand_value()), servers, true).await?;
        }
        let index1 = c.one(cmd(c.rand_value()), servers, true).await?;
        // Crash all.
        for i in 0..servers {
            c.crash1(i);
        }
        // Revive all.
        for i in 0..servers {
            restart(&c, i);
        }
        let index2 = c.one(cmd(c.rand_value()), servers, true).await?;
        if index2 < index1 + 1 {
            fail!("index decreased from {index1} to {index2}");
        }
    }
    Ok(())
}

async fn snapshot_init(c: Rc<Cluster>) -> R {
    let servers = c.n();
    c.one(cmd(c.rand_value()), servers, true).await?;
    // Enough ops to make a snapshot.
    for _ in 0..SNAPSHOT_INTERVAL + 1 {
        c.one(cmd(c.rand_value()), servers, true).await?;
    }
    for i in 0..servers {
        c.crash1(i);
    }
    for i in 0..servers {
        restart(&c, i);
    }
    // A single op, to get something written back to persistent storage.
    c.one(cmd(c.rand_value()), servers, true).await?;
    for i in 0..servers {
        c.crash1(i);
    }
    for i in 0..servers {
        restart(&c, i);
    }
    // Another op to trigger a potential bug.
    c.one(cmd(c.rand_value()), servers, true).await?;
    Ok(())
}

// ----- the catalog --------------------------------------------------------------------------------

macro_rules! catalog {
    ($( $name:literal => ($n:expr, unreliable: $unrel:expr, snapshot: $snap:expr, $body:expr) ),* $(,)?) => {
        vec![$(
            Scenario {
                name: $name,
                run: {
                    fn run(seed: u64, opts: &RunOptions) -> ScenarioOutcome {
                        run_cluster(seed, opts, $n, $unrel, $snap, $body)
                    }
                    run
                },
            }
        ),*]
    };
}

/// The Raft lab catalog, in the order of the Go test file, then the `Nemesis*` scenarios
/// (`nemesis_scenarios`).
pub fn catalog() -> Catalog {
    lab_catalog().followed_by(super::nemesis_scenarios::scenarios())
}

/// The 28 tests of the lab alone.
fn lab_catalog() -> Catalog {
    Catalog {
        system: "raft",
        scenarios: catalog![
            "TestInitialElection3A" => (3, unreliable: false, snapshot: false, initial_election),
            "TestReElection3A" => (3, unreliable: false, snapshot: false, re_election),
            "TestManyElections3A" => (7, unreliable: false, snapshot: false, many_elections),
            "TestBasicAgree3B" => (3, unreliable: false, snapshot: false, basic_agree),
            "TestRPCBytes3B" => (3, unreliable: false, snapshot: false, rpc_bytes),
            "TestFollowerFailure3B" => (3, unreliable: false, snapshot: false, follower_failure),
            "TestLeaderFailure3B" => (3, unreliable: false, snapshot: false, leader_failure),
            "TestFailAgree3B" => (3, unreliable: false, snapshot: false, fail_agree),
            "TestFailNoAgree3B" => (5, unreliable: false, snapshot: false, fail_no_agree),
            "TestConcurrentStarts3B" => (3, unreliable: false, snapshot: false, concurrent_starts),
            "TestRejoin3B" => (3, unreliable: false, snapshot: false, rejoin),
            "TestBackup3B" => (5, unreliable: false, snapshot: false, backup),
            "TestCount3B" => (3, unreliable: false, snapshot: false, count),
            "TestPersist13C" => (3, unreliable: false, snapshot: false, persist1),
            "TestPersist23C" => (5, unreliable: false, snapshot: false, persist2),
            "TestPersist33C" => (3, unreliable: false, snapshot: false, persist3),
            "TestFigure83C" => (5, unreliable: false, snapshot: false, figure8),
            "TestUnreliableAgree3C" => (5, unreliable: true, snapshot: false, unreliable_agree),
            "TestFigure8Unreliable3C" => (5, unreliable: true, snapshot: false, figure8_unreliable),
            "TestReliableChurn3C" => (5, unreliable: false, snapshot: false, churn),
            "TestUnreliableChurn3C" => (5, unreliable: true, snapshot: false, churn),
            "TestSnapshotBasic3D" => (3, unreliable: false, snapshot: true, |c| snapcommon(c, false, false)),
            "TestSnapshotInstall3D" => (3, unreliable: false, snapshot: true, |c| snapcommon(c, true, false)),
            "TestSnapshotInstallUnreliable3D" => (3, unreliable: true, snapshot: true, |c| snapcommon(c, true, false)),
            "TestSnapshotInstallCrash3D" => (3, unreliable: false, snapshot: true, |c| snapcommon(c, false, true)),
            "TestSnapshotInstallUnCrash3D" => (3, unreliable: true, snapshot: true, |c| snapcommon(c, false, true)),
            "TestSnapshotAllCrash3D" => (3, unreliable: false, snapshot: true, snapshot_all_crash),
            "TestSnapshotInit3D" => (3, unreliable: false, snapshot: true, snapshot_init),
        ],
    }
}
