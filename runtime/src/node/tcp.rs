//! The TCP transport between nodes: each node listens on 127.0.0.1 and sends every message for a peer
//! as one JSON line on a connection of its own to that peer's address (under Quill's runner, the
//! runner's proxy of that peer, which applies partitions). A message that finds no connection is lost,
//! as on a network: Raft retransmits.

use std::net::SocketAddr;

use serde_json::Value as Json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::NodeError;
use crate::maelstrom::protocol::Message;

/// One writer per peer, and the listener feeding `incoming`.
pub struct TcpPeers {
    names: Vec<String>,
    writers: Vec<mpsc::UnboundedSender<String>>,
}

impl TcpPeers {
    pub async fn start(
        listen: &str,
        peers: Vec<String>,
        names: &[String],
        incoming: mpsc::UnboundedSender<Message>,
    ) -> Result<TcpPeers, NodeError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| NodeError::Io {
                what: "binding the TCP listener",
                source,
            })?;
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let incoming = incoming.clone();
                tokio::spawn(async move {
                    let mut lines = BufReader::new(conn).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        match Message::parse(&line) {
                            Ok(m) => {
                                if incoming.send(m).is_err() {
                                    return;
                                }
                            }
                            Err(reason) => eprintln!("a bad line from a peer ({reason}): {line}"),
                        }
                    }
                });
            }
        });
        let mut writers = Vec::new();
        for addr in peers {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_to(addr, rx));
            writers.push(tx);
        }
        Ok(TcpPeers {
            names: names.to_vec(),
            writers,
        })
    }

    /// Sends `body` from `src` to the node named `dest`.
    pub fn send(&self, src: &str, dest: &str, body: Json) {
        if let Some(j) = self.names.iter().position(|n| n == dest) {
            let line = Message::new(src, dest, body).to_line();
            let _ = self.writers[j].send(line);
        }
    }
}

async fn write_to(addr: String, mut rx: mpsc::UnboundedReceiver<String>) {
    let addr: Option<SocketAddr> = addr.parse().ok();
    let mut stream: Option<TcpStream> = None;
    while let Some(line) = rx.recv().await {
        let Some(addr) = addr else { continue };
        if stream.is_none() {
            stream = TcpStream::connect(addr).await.ok();
        }
        let Some(s) = stream.as_mut() else { continue };
        if s.write_all(line.as_bytes()).await.is_err() {
            stream = None;
        }
    }
}
