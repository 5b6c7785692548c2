//! DKIM and ARC body hashes (RFC 6376 3.7, RFC 8617 4.1.2) of a body read
//! in pieces, so a large message is verified without being whole in
//! memory: mail-auth parses the header section alone and these hashes
//! take the place of the ones it would compute from a body in hand.
//!
//! The rule: the body is read 64 KiB at a time, on the blocking pool.

use std::io::{self, Read};

use mail_auth::common::crypto::{HashAlgorithm, HashContext, HashImpl, Sha1, Sha256};
use mail_auth::dkim::Canonicalization;
use mail_auth::dkim::canonicalize::BodyHasher;

/// A body hash a signature asks for: canonicalization, algorithm, `l=`
/// (0: the whole body), and the hash.
pub(crate) type BodyHash = (Canonicalization, HashAlgorithm, u64, Vec<u8>);

/// The hashes of the body `open` reads (once per hash asked for).
pub(crate) fn hashes<R: Read>(
    wanted: &[BodyHash],
    open: &dyn Fn() -> io::Result<R>,
) -> io::Result<Vec<BodyHash>> {
    wanted
        .iter()
        .map(|(c, a, l, _)| {
            let mut body = open()?;
            let h = match a {
                HashAlgorithm::Sha256 => one::<Sha256>(*c, *l, &mut body)?,
                HashAlgorithm::Sha1 => one::<Sha1>(*c, *l, &mut body)?,
            };
            Ok((*c, *a, *l, h))
        })
        .collect()
}

fn one<H: HashImpl>(c: Canonicalization, l: u64, body: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut hasher = BodyHasher::new(H::hasher(), c, l);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = body.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.write(&buf[..n]);
    }
    let (ctx, _) = hasher.finish();
    Ok(ctx.complete().as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What mail-auth computes from a whole message, these compute from a
    /// body read in pieces.
    #[test]
    fn streamed_hashes_match_whole_ones() {
        // Two signatures: a simple and a relaxed body (mail-auth refuses l=).
        let b = "A".repeat(344);
        let mut m = format!("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=x.example; s=s; h=from; bh=AAAA; b={b}\r\nDKIM-Signature: v=1; a=rsa-sha256; c=simple/relaxed; d=x.example; s=s; h=from; bh=AAAA; b={b}\r\nFrom: a@x.example\r\n\r\n").into_bytes();
        let body_at = m.len();
        for i in 0..20_000 {
            m.extend_from_slice(format!("line {i}  \t x \r\n").as_bytes());
        }
        m.extend_from_slice(b"\r\n\r\n");
        let whole = mail_auth::AuthenticatedMessage::parse(&m).unwrap();
        assert_eq!(whole.body_hashes.len(), 2);
        let body = m[body_at..].to_vec();
        let got = hashes(&whole.body_hashes, &|| Ok(io::Cursor::new(body.clone()))).unwrap();
        assert_eq!(got, whole.body_hashes);
    }
}
