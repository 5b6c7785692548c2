//! Line framing over a byte stream: commands in (CRLF only, bounded length),
//! replies out through one buffer that is flushed when the client has no
//! further command waiting (RFC 2449 6.6 PIPELINING) or when it grows large.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Replies are written to the socket once this much is buffered.
pub const FLUSH_AT: usize = 64 * 1024;

/// One framed input line.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line without its CRLF.
    Ok(Vec<u8>),
    /// Longer than the limit; its bytes were discarded.
    TooLong,
    /// Ended by a bare LF, or held a bare CR or NUL.
    Malformed,
}

pub struct LineIo<S> {
    stream: S,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    max_line: usize,
    /// A client that stops reading its replies is cut off after this long.
    write_timeout: Duration,
    /// Inside an over-long line: drop bytes up to its LF.
    discarding: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LineIo<S> {
    pub fn new(stream: S, max_line: usize, write_timeout: Duration) -> LineIo<S> {
        LineIo {
            stream,
            rbuf: Vec::with_capacity(1024),
            wbuf: Vec::with_capacity(4096),
            max_line: max_line.max(64),
            write_timeout,
            discarding: false,
        }
    }

    /// The next complete line already received, if any.
    pub fn next_line(&mut self) -> Option<Line> {
        let Some(lf) = self.rbuf.iter().position(|&b| b == b'\n') else {
            if self.rbuf.len() > self.max_line {
                self.rbuf.clear();
                self.discarding = true;
            }
            return None;
        };
        let mut line: Vec<u8> = self.rbuf.drain(..=lf).collect();
        if self.discarding {
            self.discarding = false;
            return Some(Line::TooLong);
        }
        if line.len() > self.max_line + 2 {
            return Some(Line::TooLong);
        }
        line.pop(); // LF
        if line.pop() != Some(b'\r') {
            return Some(Line::Malformed);
        }
        if line.iter().any(|&b| b == b'\r' || b == 0) {
            return Some(Line::Malformed);
        }
        Some(Line::Ok(line))
    }

    /// Read more input; `Ok(0)` at end of stream.
    pub async fn fill(&mut self) -> std::io::Result<usize> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        self.rbuf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// RFC 2595 4 / RFC 2449 6.6: whatever the client sent after STLS,
    /// before the handshake, must not be taken as a command.
    pub fn discard_input(&mut self) {
        self.rbuf.clear();
        self.discarding = false;
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.wbuf.extend_from_slice(bytes);
    }

    /// The output buffer, for writers that build replies in place.
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.wbuf
    }

    /// Flush if the output buffer has grown past `FLUSH_AT`.
    pub async fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.wbuf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self) -> std::io::Result<()> {
        let write = async {
            if !self.wbuf.is_empty() {
                self.stream.write_all(&self.wbuf).await?;
                self.wbuf.clear();
            }
            self.stream.flush().await
        };
        tokio::time::timeout(self.write_timeout, write)
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "client stopped reading")
            })?
    }

    pub async fn shutdown(&mut self) {
        let _ = self.flush().await;
        let _ = self.stream.shutdown().await;
    }

    /// Give the stream back (for the TLS handshake); pending input is dropped.
    pub fn into_stream(self) -> S {
        self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let (a, mut b) = tokio::io::duplex(1 << 16);
        b.write_all(input).await.unwrap();
        drop(b);
        let mut io = LineIo::new(a, max, Duration::from_secs(5));
        let mut out = vec![];
        loop {
            while let Some(l) = io.next_line() {
                out.push(l);
            }
            if io.fill().await.unwrap() == 0 {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn frames_crlf_lines_and_rejects_the_rest() {
        let got = lines(b"USER a\r\nbare\nNO\0OP\r\nx\ry\r\n\r\n", 100).await;
        assert_eq!(
            got,
            vec![
                Line::Ok(b"USER a".to_vec()),
                Line::Malformed,
                Line::Malformed,
                Line::Malformed,
                Line::Ok(vec![]),
            ]
        );
    }

    #[tokio::test]
    async fn over_long_lines_are_discarded_whole() {
        let mut input = vec![b'a'; 10_000];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        let got = lines(&input, 100).await;
        assert_eq!(got, vec![Line::TooLong, Line::Ok(b"NOOP".to_vec())]);
        let mut input = vec![b'a'; 70];
        input.extend_from_slice(b"\r\n");
        assert_eq!(lines(&input, 64).await, vec![Line::TooLong]);
    }
}
