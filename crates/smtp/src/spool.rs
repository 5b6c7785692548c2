//! Message data as it arrives (DATA or BDAT): the first `MEMORY_LIMIT`
//! octets in memory, then everything in a spool file under
//! `<data_dir>/spool/`, so a session holds well under 1 MiB whatever the
//! message size. The spool directory is 0700 and its files 0600, named by
//! a random id (never by anything the client sent), and a spool file is
//! removed when the value that owns it is dropped: on a refusal, RSET, a
//! dropped connection or after delivery alike. Debris from a crash is
//! removed at start-up ([`sweep`]).
//!
//! The rule: nothing here reads a whole spooled message into memory except
//! [`Message::whole`], which waits for the server-wide budget first; every
//! other reader goes through the file in pieces.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;

/// Octets kept in memory before the message goes to a spool file.
pub const MEMORY_LIMIT: usize = 256 * 1024;

/// The largest header section tern takes (RFC 5322 sets no limit; the
/// header is what every check reads, so it is held in memory). Larger is
/// refused, as Postfix's `header_size_limit` is a limit too.
pub const HEADER_LIMIT: usize = 256 * 1024;

/// Spool files older than this at start-up are debris of a crash.
pub const DEBRIS_AGE: Duration = Duration::from_secs(24 * 3600);

/// Whole spooled messages in memory at once, server-wide, for what cannot
/// be streamed: forwarding to the outbound queue (with its ARC seal), which
/// keeps a message whole. Memory for them is bounded by this many times the
/// message size limit, not by the number of sessions. (Delivery, DKIM
/// signing and verification go through the file in pieces.)
static WHOLE: Semaphore = Semaphore::const_new(2);

/// The file buffer of a spooling session.
const WRITE_BUFFER: usize = 64 * 1024;

/// Removes its file when dropped.
#[derive(Debug)]
struct Removal(PathBuf);

impl Drop for Removal {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.0)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), error = %e, "cannot remove a spool file");
        }
    }
}

/// Create the spool directory (0700) if needed.
fn spool_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A new spool file (0600), named by 128 random bits.
fn create(dir: &Path) -> io::Result<(File, Removal)> {
    spool_dir(dir)?;
    let path = dir.join(format!("{:032x}", rand::random::<u128>()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    Ok((file, Removal(path)))
}

/// The spool file of a message and the octets not yet written to it.
#[derive(Debug)]
struct Spilled {
    file: Arc<File>,
    pending: Vec<u8>,
    removal: Removal,
}

impl Spilled {
    /// Write what is pending, on the blocking pool: a disk that stalls
    /// stalls this session only, not an async worker.
    async fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.pending);
        let file = self.file.clone();
        let mut buf = tokio::task::spawn_blocking(move || (&*file).write_all(&buf).map(|()| buf))
            .await
            .map_err(io::Error::other)??;
        buf.clear();
        if buf.capacity() > 2 * WRITE_BUFFER {
            buf = Vec::with_capacity(WRITE_BUFFER);
        }
        self.pending = buf;
        Ok(())
    }
}

/// A message being received.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    mem: Vec<u8>,
    file: Option<Spilled>,
    len: u64,
    /// The first write error: the rest is not written, the end answers 451.
    failed: Option<io::Error>,
}

impl Spool {
    pub fn new(dir: PathBuf) -> Spool {
        Spool {
            dir,
            mem: Vec::new(),
            file: None,
            len: 0,
            failed: None,
        }
    }

    /// Octets received so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Octets of memory this message holds (buffers' capacities).
    pub fn resident(&self) -> usize {
        self.mem.capacity() + self.file.as_ref().map_or(0, |f| f.pending.capacity())
    }

    /// Drop what was received (the message is refused but still being
    /// read): the spool file goes, the count stays.
    pub fn discard(&mut self) {
        self.file = None;
        self.mem = Vec::new();
    }

    /// Append received octets: in memory up to `MEMORY_LIMIT`, then to the
    /// spool file in `WRITE_BUFFER` pieces.
    pub async fn append(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.failed.is_some() {
            return;
        }
        let need = self.mem.len() + bytes.len();
        if self.file.is_none() && need <= MEMORY_LIMIT {
            // Grow by doubling, but never past the limit (doubling from an
            // odd first size would overshoot it by up to twice).
            if need > self.mem.capacity() {
                let target = (self.mem.capacity() * 2).max(need).min(MEMORY_LIMIT);
                self.mem.reserve_exact(target - self.mem.len());
            }
            self.mem.extend_from_slice(bytes);
            return;
        }
        if let Err(e) = self.write(bytes).await {
            tracing::error!(error = %e, dir = %self.dir.display(), "smtp cannot spool message data");
            self.failed = Some(e);
            self.file = None;
            self.mem = Vec::new();
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            let (file, removal) = create(&self.dir)?;
            let mut sp = Spilled {
                file: Arc::new(file),
                pending: std::mem::take(&mut self.mem),
                removal,
            };
            // The memory part first, so its buffer is not grown further.
            sp.flush().await?;
            self.file = Some(sp);
        }
        let Some(sp) = self.file.as_mut() else {
            return Ok(());
        };
        sp.pending.extend_from_slice(bytes);
        if sp.pending.len() >= WRITE_BUFFER {
            sp.flush().await?;
        }
        Ok(())
    }

    /// The message, split into its header section (in memory, at most
    /// `HEADER_LIMIT`) and the rest. `Ok(None)`: the header is too large.
    pub async fn finish(self) -> io::Result<Option<Message>> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let Some(mut sp) = self.file else {
            let mut mem = self.mem;
            let at = split_point(&mem).unwrap_or(mem.len());
            if at > HEADER_LIMIT {
                return Ok(None);
            }
            let body = mem.split_off(at);
            return Ok(Some(Message {
                head: mem,
                body: Body::Memory(body),
            }));
        };
        sp.flush().await?;
        let Spilled { file, removal, .. } = sp;
        let mut head = tokio::task::spawn_blocking(move || {
            let mut f = &*file;
            f.seek(SeekFrom::Start(0))?;
            let mut head = Vec::new();
            f.take(HEADER_LIMIT as u64 + 2).read_to_end(&mut head)?;
            Ok::<_, io::Error>(head)
        })
        .await
        .map_err(io::Error::other)??;
        let Some(at) = split_point(&head).filter(|at| *at <= HEADER_LIMIT) else {
            return Ok(None);
        };
        head.truncate(at);
        head.shrink_to_fit();
        Ok(Some(Message {
            head,
            body: Body::File(SpoolFile {
                offset: at as u64,
                len: self.len - at as u64,
                removal,
            }),
        }))
    }
}

/// Where the header section ends: after the CRLF of its last field, so
/// the body starts with the empty line (RFC 5322 2.1). `None` when no
/// empty line was seen.
fn split_point(msg: &[u8]) -> Option<usize> {
    if msg.starts_with(b"\r\n") {
        return Some(0);
    }
    msg.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 2)
}

/// A received message: header section and the rest.
#[derive(Debug)]
pub struct Message {
    /// The header fields as received (no empty line).
    pub head: Vec<u8>,
    /// The empty line and the body.
    pub body: Body,
}

/// The part of a message after its header section.
#[derive(Debug)]
pub enum Body {
    Memory(Vec<u8>),
    File(SpoolFile),
}

/// Octets of a spool file from `offset`; the file goes with the value.
#[derive(Debug)]
pub struct SpoolFile {
    pub offset: u64,
    pub len: u64,
    removal: Removal,
}

impl SpoolFile {
    pub fn path(&self) -> &Path {
        &self.removal.0
    }

    /// Opens the body after its empty line (the octets a DKIM body hash
    /// covers, RFC 6376 3.7), each time it is called.
    pub fn body_reader(&self) -> impl Fn() -> io::Result<io::Take<File>> + Send + 'static {
        let (path, offset, len) = (self.path().to_path_buf(), self.offset, self.len);
        move || {
            let mut file = File::open(&path)?;
            file.seek(SeekFrom::Start(offset + 2))?;
            Ok(file.take(len.saturating_sub(2)))
        }
    }

    /// Opens the message as `head` followed by these octets, each time it
    /// is called: for readers that go through a large message in pieces.
    pub fn reader_after(
        &self,
        head: Vec<u8>,
    ) -> impl Fn() -> io::Result<io::Chain<io::Cursor<Vec<u8>>, io::Take<File>>> + Send + 'static
    {
        let (path, offset, len) = (self.path().to_path_buf(), self.offset, self.len);
        move || {
            let mut file = File::open(&path)?;
            file.seek(SeekFrom::Start(offset))?;
            Ok(io::Cursor::new(head.clone()).chain(file.take(len)))
        }
    }
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Memory(b) => b.len() as u64,
            Body::File(f) => f.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Message {
    pub fn len(&self) -> u64 {
        self.head.len() as u64 + self.body.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The message's first `max` octets (the header section first), read
    /// on the blocking pool when the body is spooled: what the spam
    /// classifier reads.
    pub async fn prefix(&self, max: usize) -> io::Result<Vec<u8>> {
        let mut out = self.head[..self.head.len().min(max)].to_vec();
        let left = max.saturating_sub(out.len());
        match &self.body {
            Body::Memory(b) => out.extend_from_slice(&b[..b.len().min(left)]),
            Body::File(f) => {
                let (path, offset, len) = (f.path().to_path_buf(), f.offset, f.len);
                out = tokio::task::spawn_blocking(move || {
                    let mut file = File::open(&path)?;
                    file.seek(SeekFrom::Start(offset))?;
                    file.take(len.min(left as u64)).read_to_end(&mut out)?;
                    Ok::<_, io::Error>(out)
                })
                .await
                .map_err(io::Error::other)??;
            }
        }
        Ok(out)
    }

    /// `prefix` and the whole message in memory, for what cannot be
    /// streamed (the outbound queue keeps messages whole). A
    /// spooled body waits for the server-wide budget (`WHOLE`) first and
    /// is read on the blocking pool.
    pub async fn whole(&self, prefix: &[u8]) -> io::Result<Whole> {
        let mut out = Vec::with_capacity(prefix.len() + self.head.len());
        out.extend_from_slice(prefix);
        out.extend_from_slice(&self.head);
        match &self.body {
            Body::Memory(b) => {
                out.extend_from_slice(b);
                Ok(Whole {
                    bytes: out,
                    _permit: None,
                })
            }
            Body::File(f) => {
                let permit = WHOLE
                    .acquire()
                    .await
                    .map_err(|_| io::Error::other("the budget is closed"))?;
                let (path, offset, len) = (f.path().to_path_buf(), f.offset, f.len);
                let bytes = tokio::task::spawn_blocking(move || {
                    let mut file = File::open(&path)?;
                    file.seek(SeekFrom::Start(offset))?;
                    out.reserve(usize::try_from(len).unwrap_or(0));
                    file.take(len).read_to_end(&mut out)?;
                    Ok::<_, io::Error>(out)
                })
                .await
                .map_err(io::Error::other)??;
                Ok(Whole {
                    bytes,
                    _permit: Some(permit),
                })
            }
        }
    }
}

/// A whole message in memory, holding its share of the budget.
pub struct Whole {
    pub bytes: Vec<u8>,
    _permit: Option<tokio::sync::SemaphorePermit<'static>>,
}

/// Remove spool files older than `DEBRIS_AGE` (left by a crash); returns
/// how many were removed. Younger files may belong to a running session.
pub fn sweep(dir: &Path, now: SystemTime) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > DEBRIS_AGE);
        if old && e.file_type().is_ok_and(|t| t.is_file()) && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::warn!(dir = %dir.display(), removed, "smtp removed spool files left by a crash");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> usize {
        fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    #[tokio::test]
    async fn small_messages_stay_in_memory() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::new(d.path().join("spool"));
        s.append(b"Subject: x\r\n\r\nbody\r\n").await;
        let m = s.finish().await.unwrap().unwrap();
        assert_eq!(m.head, b"Subject: x\r\n");
        assert!(matches!(&m.body, Body::Memory(b) if b == b"\r\nbody\r\n"));
        assert_eq!(files(&d.path().join("spool")), 0);
    }

    #[tokio::test]
    async fn large_messages_spool_to_a_private_file_that_goes_with_them() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("spool");
        let mut s = Spool::new(dir.clone());
        s.append(b"Subject: big\r\n\r\n").await;
        let line = [b'x'; 1000];
        for _ in 0..1000 {
            s.append(&line).await;
            s.append(b"\r\n").await;
        }
        assert_eq!(files(&dir), 1);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        let m = s.finish().await.unwrap().unwrap();
        assert_eq!(m.head, b"Subject: big\r\n");
        let Body::File(f) = &m.body else {
            panic!("spooled")
        };
        assert_eq!(mode(f.path()), 0o600);
        assert_eq!(m.len(), 16 + 1_002_000);
        drop(m);
        assert_eq!(files(&dir), 0, "the file goes with the message");
    }

    /// The point of spooling: whatever the message size, a session holds
    /// a bounded amount of memory for it (well under 1 MiB).
    #[tokio::test]
    async fn memory_stays_bounded_whatever_the_size() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::new(d.path().join("spool"));
        let line = [b'y'; 998];
        let mut peak = 0;
        for _ in 0..20_000 {
            s.append(&line).await;
            s.append(b"\r\n").await;
            peak = peak.max(s.resident());
        }
        assert_eq!(s.len(), 20_000_000);
        assert!(
            peak <= MEMORY_LIMIT + 2 * WRITE_BUFFER,
            "{peak} octets held"
        );
    }

    #[tokio::test]
    async fn an_unfinished_message_leaves_no_file() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("spool");
        let mut s = Spool::new(dir.clone());
        s.append(&vec![b'a'; MEMORY_LIMIT + 1]).await;
        assert_eq!(files(&dir), 1);
        drop(s);
        assert_eq!(files(&dir), 0);
    }

    #[tokio::test]
    async fn a_header_section_past_the_limit_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::new(d.path().join("spool"));
        for _ in 0..100_000 {
            s.append(b"X: y\r\n").await;
        }
        s.append(b"\r\nbody\r\n").await;
        assert!(s.finish().await.unwrap().is_none());
        let mut s = Spool::new(d.path().join("spool"));
        s.append(&[b'a'; 1000]).await;
        let m = s.finish().await.unwrap().unwrap();
        assert_eq!(m.head.len(), 1000, "no empty line: all header, no body");
    }

    #[tokio::test]
    async fn whole_reads_back_the_exact_bytes() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::new(d.path().join("spool"));
        let mut want = b"A: b\r\n\r\n".to_vec();
        for i in 0..100_000u32 {
            want.extend_from_slice(format!("{i}\r\n").as_bytes());
        }
        for c in want.chunks(777) {
            s.append(c).await;
        }
        let m = s.finish().await.unwrap().unwrap();
        assert!(matches!(m.body, Body::File(_)));
        assert_eq!(m.whole(b"").await.unwrap().bytes, want);
    }

    #[test]
    fn sweep_removes_only_old_files() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), b"x").unwrap();
        let now = SystemTime::now();
        assert_eq!(sweep(d.path(), now), 0, "a young file may be in use");
        assert_eq!(sweep(d.path(), now + DEBRIS_AGE * 2), 1);
        assert_eq!(files(d.path()), 0);
    }
}
