//! The TCP proxy: with `--tcp`, nodes exchange their own messages over TCP on 127.0.0.1, and every
//! connection goes through the runner, so that partitions still apply.
//!
//! For each node `j` the runner picks an address for the node to listen on (`QUILL_TCP_LISTEN`) and
//! listens itself on a proxy address; every node is told the proxy addresses of all nodes
//! (`QUILL_TCP_PEERS`, comma-separated, in node order). A node sends one Maelstrom message per line to
//! the proxy of its destination; the proxy reads the `src`, drops the line if the runner's nemesis cuts
//! `src -> j` at that moment (as the runner's own network drops at the receiver), and otherwise writes it
//! to node `j`'s listener (reconnecting after a kill). Only cuts apply here, not latency, loss or
//! duplication; client and service messages still go over stdin/stdout through the runner's network.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::network::Network;
use super::protocol::Message;

/// The proxies of a run; dropping it stops them.
pub struct TcpProxy {
    /// Where node `j` listens.
    pub listen: Vec<SocketAddr>,
    /// Where the runner listens for node `j`.
    pub proxies: Vec<SocketAddr>,
    /// Lines forwarded and lines dropped by a cut.
    pub forwarded: Arc<AtomicU64>,
    pub dropped: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl TcpProxy {
    pub async fn start(net: Arc<Network>, nodes: usize) -> std::io::Result<TcpProxy> {
        let mut proxy = TcpProxy {
            listen: Vec::new(),
            proxies: Vec::new(),
            forwarded: Arc::new(AtomicU64::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
            tasks: Vec::new(),
        };
        for j in 0..nodes {
            // A free port for the node: bound and released (the node binds it right after).
            let node_addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            proxy.proxies.push(listener.local_addr()?);
            proxy.listen.push(node_addr);
            // One writer per destination, fed by every connection to its proxy.
            let (tx, rx) = mpsc::unbounded_channel::<String>();
            proxy.tasks.push(tokio::spawn(write_to_node(node_addr, rx)));
            let (net, fwd, drop) = (
                Arc::clone(&net),
                Arc::clone(&proxy.forwarded),
                Arc::clone(&proxy.dropped),
            );
            proxy.tasks.push(tokio::spawn(async move {
                while let Ok((conn, _)) = listener.accept().await {
                    let (net, tx, fwd, drop) = (
                        Arc::clone(&net),
                        tx.clone(),
                        Arc::clone(&fwd),
                        Arc::clone(&drop),
                    );
                    tokio::spawn(async move {
                        let mut lines = BufReader::new(conn).lines();
                        while let Ok(Some(line)) = lines.next_line().await {
                            let src = Message::parse(&line)
                                .ok()
                                .and_then(|m| m.src.strip_prefix('n')?.parse::<usize>().ok());
                            let cut = src.is_none_or(|i| net.faults().cut.contains(&(i, j)));
                            if cut {
                                drop.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            fwd.fetch_add(1, Ordering::Relaxed);
                            if tx.send(line).is_err() {
                                return;
                            }
                        }
                    });
                }
            }));
        }
        Ok(proxy)
    }

    /// The environment of node `j`.
    pub fn env(&self, j: usize) -> Vec<(String, String)> {
        let peers: Vec<String> = self.proxies.iter().map(|a| a.to_string()).collect();
        vec![
            ("QUILL_TCP_LISTEN".into(), self.listen[j].to_string()),
            ("QUILL_TCP_PEERS".into(), peers.join(",")),
        ]
    }
}

/// Writes the lines for one node to its listener, connecting (again) when needed; a line that finds
/// the node down is lost, as on a network.
async fn write_to_node(addr: SocketAddr, mut rx: mpsc::UnboundedReceiver<String>) {
    let mut stream: Option<TcpStream> = None;
    while let Some(mut line) = rx.recv().await {
        if stream.is_none() {
            stream = TcpStream::connect(addr).await.ok();
        }
        let Some(s) = stream.as_mut() else { continue };
        line.push('\n');
        if s.write_all(line.as_bytes()).await.is_err() {
            stream = None;
        }
    }
}
