//! Workload clients: synchronous (one request outstanding), each with a name (`c3`) on the network.
//!
//! A client sends a request with a fresh `msg_id` and waits for the reply whose `in_reply_to` matches,
//! ignoring any other message (a late reply to a request that timed out), until its timeout. The
//! [`Pacer`] spreads the requests of all clients to `--rate` per second in total, as Jepsen's `stagger`
//! does: each request is scheduled a random interval (uniform in `[0, 2/rate)`) after the previous one.

use std::sync::{Arc, Mutex};
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

/// Spreads requests over time at a total rate.
pub struct Pacer {
    state: Mutex<(Instant, ChaCha8Rng)>,
    mean_gap: Duration,
}

impl Pacer {
    pub fn new(rate: f64, rng: ChaCha8Rng) -> Arc<Self> {
        Arc::new(Pacer {
            state: Mutex::new((Instant::now(), rng)),
            mean_gap: Duration::from_secs_f64(1.0 / rate),
        })
    }

    /// Waits for this client's next slot.
    pub async fn wait(&self) {
        let slot = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let (next, rng) = &mut *state;
            let slot = (*next).max(Instant::now());
            let gap = self.mean_gap.mul_f64(rng.gen_range(0.0..2.0));
            *next = slot + gap;
            slot
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(slot)).await;
    }
}
