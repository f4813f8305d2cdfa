//! The wire between workers and the coordinator: one JSON request and one JSON reply per
//! connection on a Unix domain socket (the lab dials the coordinator's socket for every call too).
//!
//! A call that cannot connect, times out or reads something it cannot parse *fails*, exactly like
//! the lab's `call()` returning false: the worker's core decides what to do about it (retry, and
//! in the end exit). The coordinator answers malformed requests by closing the connection.

use std::path::Path;
use std::time::Duration;

use mapreduce::{Reply, Request};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// How long one call may take, connection included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest request or reply line accepted.
pub const MAX_LINE: usize = 1 << 20;

/// One RPC to the coordinator at `socket`; `None` if it failed for any reason.
pub async fn call(socket: &Path, req: &Request) -> Option<Reply> {
    tokio::time::timeout(CALL_TIMEOUT, call_inner(socket, req))
        .await
        .ok()
        .flatten()
}

async fn call_inner(socket: &Path, req: &Request) -> Option<Reply> {
    let mut stream = UnixStream::connect(socket).await.ok()?;
    let mut line = serde_json::to_vec(req).ok()?;
    line.push(b'\n');
    stream.write_all(&line).await.ok()?;
    let mut reader = BufReader::new(stream);
    let reply = read_line(&mut reader).await?;
    serde_json::from_slice(&reply).ok()
}

/// Reads one `\n`-terminated line of at most [`MAX_LINE`] bytes.
pub async fn read_line<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut limited = tokio::io::AsyncReadExt::take(r, MAX_LINE as u64);
    let n = limited.read_until(b'\n', &mut buf).await.ok()?;
    if n == 0 || buf.last() != Some(&b'\n') {
        return None;
    }
    buf.pop();
    Some(buf)
}

/// The default socket of a job directory: one per directory, under `/tmp` (a Unix socket path
/// must stay short), so that jobs in different directories never share a socket.
pub fn default_socket(dir: &Path) -> std::path::PathBuf {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let h = mapreduce::digest(mapreduce::DIGEST_START, abs.to_string_lossy().as_bytes());
    std::env::temp_dir().join(format!("quill-mr-{:016x}.sock", h))
}
