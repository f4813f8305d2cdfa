//! Workload clients: synchronous (one request outstanding), each with a name (`c3`) on the network.
//!
//! A client sends a request with a fresh `msg_id` and waits for the reply whose `in_reply_to` matches,
//! ignoring any other message (a late reply to a request that timed out), until its timeout. The
//! [`Pacer`] spreads a client's requests as Jepsen's `stagger` does: each is scheduled a random interval
//! after the previous one, so that all the clients together make `--rate` requests per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value as Json;
use tokio::sync::mpsc;

use super::network::{Network, SendError};
use super::protocol::Message;

/// Why a request got no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcError {
    Timeout,
    Send(SendError),
}

pub struct Client {
    pub name: String,
    net: Arc<Network>,
    rx: mpsc::UnboundedReceiver<Message>,
    next_msg_id: u64,
}

impl Client {
    pub fn new(net: &Arc<Network>, name: String) -> Self {
        let rx = net.add_client(&name);
        Client {
            name,
            net: Arc::clone(net),
            rx,
            next_msg_id: 0,
        }
    }

    /// Sends `body` (its `msg_id` is set here) to `dest` and waits for the reply.
    pub async fn rpc(
        &mut self,
        dest: &str,
        mut body: Json,
        timeout: Duration,
    ) -> Result<Message, RpcError> {
        self.next_msg_id += 1;
        let msg_id = self.next_msg_id;
        body["msg_id"] = msg_id.into();
        self.net
            .send(Message::new(&self.name, dest, body))
            .map_err(RpcError::Send)?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(reply)) if reply.in_reply_to() == Some(msg_id) => return Ok(reply),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return Err(RpcError::Timeout),
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.net.remove_client(&self.name);
    }
}

/// Spreads one client's requests over time. Each of the `concurrency` clients has its own pacer at
/// `rate / concurrency`, so the total is `--rate` and a client whose requests are fast cannot take the
/// slots of the others (a shared schedule let the clients of the fastest node do most of the work).
pub struct Pacer {
    next: Instant,
    rng: ChaCha8Rng,
    mean_gap: Duration,
}

impl Pacer {
    /// A pacer at `rate` per second; the first slot is at a random point of the first interval.
    pub fn new(rate: f64, mut rng: ChaCha8Rng) -> Self {
        let mean_gap = Duration::from_secs_f64(1.0 / rate);
        let first = mean_gap.mul_f64(rng.gen_range(0.0..1.0));
        Pacer {
            next: Instant::now() + first,
            rng,
            mean_gap,
        }
    }

    /// Waits for the next slot: a random interval, uniform in `[0, 2/rate)`, after the previous one (or
    /// now, when the client is behind).
    pub async fn wait(&mut self) {
        let slot = self.next.max(Instant::now());
        self.next = slot + self.mean_gap.mul_f64(self.rng.gen_range(0.0..2.0));
        tokio::time::sleep_until(tokio::time::Instant::from_std(slot)).await;
    }
}
