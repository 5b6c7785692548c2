//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951) both ways after a
//! successful COMPRESS command. Every flush of replies ends with a sync
//! flush (RFC 4978 4), so the client can always decode everything sent so
//! far — a reply left inside the compressor is the classic deadlock where
//! both sides wait for each other.

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Inflated bytes produced per call at most: a small compressed input can
/// expand enormously, and the line and literal limits act on what comes
/// out, so it comes out in bounded steps.
const INFLATE_STEP: usize = 64 * 1024;

pub struct Deflate {
    compress: Compress,
    decompress: Decompress,
    /// Compressed input received but not yet inflated.
    pending: Vec<u8>,
}

impl Deflate {
    /// `already_read`: compressed bytes the client sent right after its
    /// COMPRESS command, read with it (RFC 4978 3: the client compresses
    /// from the CRLF of its command on).
    pub fn new(already_read: Vec<u8>) -> Deflate {
        Deflate {
            // Level 6 is zlib's default; the window is deflate's 32 KiB.
            compress: Compress::new(Compression::new(6), false),
            decompress: Decompress::new(false),
            pending: already_read,
        }
    }

    /// Compress `input` and sync-flush, appending to `out`.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let mut consumed = 0usize;
        loop {
            // compress_vec writes only into spare capacity.
            out.reserve((input.len() - consumed).max(4096));
            let before = self.compress.total_in();
            self.compress
                .compress_vec(&input[consumed..], out, FlushCompress::Sync)
                .map_err(|e| io::Error::other(format!("deflate: {e}")))?;
            consumed += (self.compress.total_in() - before) as usize;
            // The flush is complete when it did not fill the space given.
            if consumed >= input.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Add compressed bytes read from the client.
    pub fn feed(&mut self, compressed: &[u8]) {
        self.pending.extend_from_slice(compressed);
    }

    /// Inflate what is pending into `out`, at most [`INFLATE_STEP`] bytes;
    /// returns how many came out (0 when more input is needed).
    pub fn inflate(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        let start = out.len();
        out.reserve(INFLATE_STEP);
        let limit = start + INFLATE_STEP;
        while !self.pending.is_empty() && out.len() < limit {
            let before_in = self.decompress.total_in();
            let before_out = out.len();
            // Let the output grow only up to `limit`.
            let room = limit - out.len();
            let mut chunk = Vec::with_capacity(room);
            let status = self
                .decompress
                .decompress_vec(&self.pending, &mut chunk, FlushDecompress::None)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("inflate: {e}")))?;
            out.extend_from_slice(&chunk);
            let used = (self.decompress.total_in() - before_in) as usize;
            self.pending.drain(..used.min(self.pending.len()));
            if status == Status::StreamEnd {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "inflate: the client ended the compressed stream",
                ));
            }
            if used == 0 && out.len() == before_out {
                // Needs more input than we have.
                break;
            }
        }
        Ok(out.len() - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// What a client's zlib (raw deflate, sync flush) sends.
    fn client_deflate(parts: &[&[u8]]) -> Vec<u8> {
        let mut c = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(1 << 20);
        for p in parts {
            c.compress_vec(p, &mut out, FlushCompress::Sync).unwrap();
        }
        out
    }

    #[test]
    fn replies_are_decodable_after_every_flush() {
        let mut d = Deflate::new(Vec::new());
        let mut inflater = Decompress::new(false);
        for reply in [&b"* OK first\r\n"[..], b"a1 OK done\r\n", &[b'x'; 100_000]] {
            let mut wire = Vec::new();
            d.compress(reply, &mut wire).unwrap();
            // Everything sent so far decodes to everything written so far,
            // without any further byte from the server.
            let mut plain = Vec::with_capacity(reply.len() + 1024);
            inflater
                .decompress_vec(&wire, &mut plain, FlushDecompress::Sync)
                .unwrap();
            assert_eq!(plain, reply);
        }
    }

    #[test]
    fn commands_inflate_including_bytes_read_with_compress() {
        let wire = client_deflate(&[b"a2 NOOP\r\n", b"a3 LOGOUT\r\n"]);
        let (first, rest) = wire.split_at(3);
        let mut d = Deflate::new(first.to_vec());
        let mut out = Vec::new();
        d.inflate(&mut out).unwrap();
        d.feed(rest);
        while d.has_pending() {
            if d.inflate(&mut out).unwrap() == 0 {
                break;
            }
        }
        assert_eq!(out, b"a2 NOOP\r\na3 LOGOUT\r\n");
    }

    #[test]
    fn a_compression_bomb_comes_out_in_bounded_steps() {
        let big = vec![b'a'; 10 << 20];
        let wire = client_deflate(&[&big]);
        assert!(wire.len() < 64 * 1024);
        let mut d = Deflate::new(wire);
        let mut out = Vec::new();
        let n = d.inflate(&mut out).unwrap();
        assert!(n > 0 && n <= INFLATE_STEP, "{n}");
        let mut total = n;
        for _ in 0..1000 {
            out.clear();
            let n = d.inflate(&mut out).unwrap();
            assert!(n <= INFLATE_STEP);
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 10 << 20);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut d = Deflate::new(vec![0xff; 64]);
        assert!(d.inflate(&mut Vec::new()).is_err());
    }

    #[test]
    fn interoperates_with_flate2_streams() {
        // The std-io flate2 types are what many clients' zlib bindings do.
        let mut d = Deflate::new(Vec::new());
        let mut wire = Vec::new();
        d.compress(b"* 1 EXISTS\r\n", &mut wire).unwrap();
        let mut r = flate2::read::DeflateDecoder::new(&wire[..]);
        let mut got = [0u8; 12];
        r.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"* 1 EXISTS\r\n");
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        e.write_all(b"a NOOP\r\n").unwrap();
        e.flush().unwrap();
        let mut d = Deflate::new(e.get_ref().clone());
        let mut out = Vec::new();
        d.inflate(&mut out).unwrap();
        assert_eq!(out, b"a NOOP\r\n");
    }
}
