//! The crash point between persisting and sending: `Sim::crash_after_next_persist`.

use sim::{CallId, Ctx, HostId, NetConfig, Process, Sim};

/// On a request: notes it, persists its value, then calls host 2 and answers the caller, so that
/// a crash right after the write shows as the write kept and everything after it lost.
struct Writer;

impl Process for Writer {
    type Msg = u64;
    type Note = (HostId, u64);
    fn on_timer(&mut self, _: &mut Ctx<'_, u64, Self::Note>) {}
    fn on_request(&mut self, ctx: &mut Ctx<'_, u64, Self::Note>, _: HostId, c: CallId, x: u64) {
        let me = ctx.me();
        ctx.note((me, x));
        ctx.persister().save(x.to_le_bytes().to_vec(), None);
        ctx.note((me, x + 1000));
        ctx.call(2, x);
        ctx.reply(c, x);
    }
    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, u64, Self::Note>,
        _: HostId,
        _: CallId,
        r: Option<u64>,
    ) {
        let me = ctx.me();
        ctx.note((me, r.map_or(u64::MAX, |r| r + 2000)));
    }
}

fn three() -> Sim<Writer> {
    let mut sim = Sim::new(1, NetConfig::default());
    for _ in 0..3 {
        let h = sim.add_host();
        sim.start(h, |_| Writer);
    }
    for a in 0..3 {
        for b in 0..3 {
            if a != b {
                sim.set_link(a, b, true);
            }
        }
    }
    sim
}

#[test]
fn an_armed_host_crashes_right_after_its_write_is_durable() {
    let mut sim = three();
    sim.crash_after_next_persist(1);
    assert!(sim.crash_armed(1));
    sim.with_host(0, |_, ctx| ctx.call(1, 7));
    while sim.step().is_some() {}
    let notes: Vec<(HostId, u64)> = sim.take_notes().into_iter().map(|n| n.note).collect();
    // Host 1 saw the request and wrote it; the note after the write, its call to host 2 and its
    // reply never happened; host 0's call failed.
    assert_eq!(notes, vec![(1, 7), (0, u64::MAX)]);
    assert!(!sim.is_alive(1));
    assert!(!sim.crash_armed(1), "a crash disarms");
    assert_eq!(sim.persister(1).raft_state(), 7u64.to_le_bytes());
    assert_eq!(
        sim.stats().per_host[2],
        0,
        "nothing was sent after the write"
    );
}

#[test]
fn an_unarmed_host_does_everything_and_a_restart_is_not_armed() {
    let mut sim = three();
    sim.crash_after_next_persist(1);
    sim.crash(1);
    sim.start(1, |_| Writer);
    assert!(!sim.crash_armed(1));
    sim.with_host(0, |_, ctx| ctx.call(1, 7));
    while sim.step().is_some() {}
    let notes: Vec<(HostId, u64)> = sim.take_notes().into_iter().map(|n| n.note).collect();
    assert!(
        notes.contains(&(1, 1007)) && notes.contains(&(0, 2007)),
        "{notes:?}"
    );
    assert!(sim.is_alive(1));
    // A dead host cannot be armed.
    sim.crash(2);
    sim.crash_after_next_persist(2);
    assert!(!sim.crash_armed(2));
}
