//! A file-backed persister: a node's Raft state and snapshot in one file, replaced atomically.
//!
//! Raft asks for its state and its snapshot to be saved together (`Persister.Save(raftstate,
//! snapshot)` in the lab), and for the save to be durable before the outputs that follow it. So a save
//! writes both into `raft.tmp`, fsyncs it, renames it over `raft` and fsyncs the directory: a process
//! killed at any point leaves either the old pair or the new one, never a mixture or a torn file.
//!
//! The file is `u64` (little endian) length of the state, the state, then the snapshot.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the persister could not read or write its file.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {len} bytes is not a persisted state (its header says {claimed} bytes of state)", path.display())]
    Corrupt {
        path: PathBuf,
        len: usize,
        claimed: u64,
    },
}

/// The persisted state of one node, in its own directory.
pub struct FilePersister {
    dir: PathBuf,
    /// The snapshot last saved: a `Persist` without a new snapshot keeps it.
    snapshot: Vec<u8>,
}

impl FilePersister {
    /// Opens (creating it) the directory `dir` and reads what it holds: `(state, snapshot)`, both
    /// empty for a node that never persisted.
    pub fn open(dir: &Path) -> Result<(FilePersister, Vec<u8>, Vec<u8>), PersistError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PersistError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        let file = dir.join("raft");
        let (state, snapshot) = match fs::read(&file) {
            Ok(bytes) => split(&file, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), Vec::new()),
            Err(e) => return Err(io(&file)(e)),
        };
        let persister = FilePersister {
            dir: dir.to_path_buf(),
            snapshot: snapshot.clone(),
        };
        Ok((persister, state, snapshot))
    }

    /// Saves `state` with `snapshot` (or the last snapshot saved) durably; returns once both are on disk.
    pub fn save(&mut self, state: &[u8], snapshot: Option<Vec<u8>>) -> Result<(), PersistError> {
        if let Some(s) = snapshot {
            self.snapshot = s;
        }
        let tmp = self.dir.join("raft.tmp");
        let file = self.dir.join("raft");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PersistError::Io { path, source }
        };
        let mut bytes = Vec::with_capacity(8 + state.len() + self.snapshot.len());
        bytes.extend_from_slice(&(state.len() as u64).to_le_bytes());
        bytes.extend_from_slice(state);
        bytes.extend_from_slice(&self.snapshot);
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        fs::rename(&tmp, &file).map_err(io(&file))?;
        // The rename is durable only once the directory entry is.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok(())
    }
}

fn split(path: &Path, bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), PersistError> {
    let corrupt = |claimed| PersistError::Corrupt {
        path: path.to_path_buf(),
        len: bytes.len(),
        claimed,
    };
    let header: [u8; 8] = bytes
        .get(..8)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| corrupt(0))?;
    let n = u64::from_le_bytes(header);
    let end = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| corrupt(n))?;
    Ok((bytes[8..end].to_vec(), bytes[end..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_survives_reopening_and_keeps_the_last_snapshot() {
        let dir = std::env::temp_dir().join(format!("quill-persister-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (mut p, state, snap) = FilePersister::open(&dir).unwrap();
        assert!(state.is_empty() && snap.is_empty());
        p.save(b"one", Some(b"snap".to_vec())).unwrap();
        p.save(b"two", None).unwrap();
        let (_, state, snap) = FilePersister::open(&dir).unwrap();
        assert_eq!(
            (state.as_slice(), snap.as_slice()),
            (&b"two"[..], &b"snap"[..])
        );
        fs::write(dir.join("raft"), [1, 0]).unwrap();
        assert!(matches!(
            FilePersister::open(&dir),
            Err(PersistError::Corrupt { len: 2, .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
