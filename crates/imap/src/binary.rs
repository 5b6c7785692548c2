//! BINARY (RFC 3516): a part's content with its Content-Transfer-Encoding
//! undone, so a client does not have to decode base64 or quoted-printable.

use std::num::NonZeroU32;

use mail_parser::{Message, MimeHeaders};

use crate::mime;

/// Why a BINARY item cannot be answered.
#[derive(Debug, PartialEq, Eq)]
pub enum BinaryError {
    /// RFC 3516 4.2: `NO [UNKNOWN-CTE]`.
    UnknownCte(String),
    /// The encoded data is damaged.
    Undecodable,
}

/// The decoded content of `section` (part numbers; empty = the whole
/// message, which has no encoding of its own). `Ok(None)`: no such part.
pub fn decoded(
    raw: &[u8],
    msg: Option<&Message<'_>>,
    section: &[NonZeroU32],
) -> Result<Option<Vec<u8>>, BinaryError> {
    if section.is_empty() {
        return Ok(Some(raw.to_vec()));
    }
    let Some(msg) = msg else {
        return Ok(None);
    };
    let path: Vec<u32> = section.iter().map(|n| n.get()).collect();
    let Some((m, i)) = mime::locate(msg, &path) else {
        return Ok(None);
    };
    let body = mime::part_body(m, i);
    let cte = m
        .parts
        .get(i)
        .and_then(|p| p.content_transfer_encoding())
        .map(|c| c.trim().to_ascii_lowercase());
    match cte.as_deref() {
        None | Some("7bit" | "8bit" | "binary") => Ok(Some(body.to_vec())),
        Some("base64") => mail_parser::decoders::base64::base64_decode(body)
            .map(Some)
            .ok_or(BinaryError::Undecodable),
        Some("quoted-printable") => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
                .map(Some)
                .ok_or(BinaryError::Undecodable)
        }
        Some(other) => Err(BinaryError::UnknownCte(other.to_string())),
    }
}

/// `1.2` for the reply's item name.
pub fn section_name(section: &[NonZeroU32]) -> String {
    section
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = b"Subject: parts\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
gr=C3=BC=C3=9Fe =3D soft=\r\nbreak\r\n\
--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
AAECAwD/\r\nAAE=\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n\
--b\r\nContent-Type: application/x-thing\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n\
--b--\r\n";

    fn n(v: &[u32]) -> Vec<NonZeroU32> {
        v.iter().map(|x| NonZeroU32::new(*x).unwrap()).collect()
    }

    #[test]
    fn encodings_are_undone() {
        let msg = mime::parse(RAW).unwrap();
        let m = Some(&msg);
        assert_eq!(
            decoded(RAW, m, &n(&[1])).unwrap().unwrap(),
            "grüße = softbreak".as_bytes()
        );
        assert_eq!(
            decoded(RAW, m, &n(&[2])).unwrap().unwrap(),
            [0, 1, 2, 3, 0, 255, 0, 1]
        );
        assert_eq!(decoded(RAW, m, &n(&[3])).unwrap().unwrap(), b"plain");
        assert_eq!(
            decoded(RAW, m, &n(&[4])),
            Err(BinaryError::UnknownCte("x-uuencode".into()))
        );
        assert_eq!(decoded(RAW, m, &n(&[9])), Ok(None));
        assert_eq!(decoded(RAW, m, &[]).unwrap().unwrap(), RAW);
        assert_eq!(section_name(&n(&[1, 2])), "1.2");
    }
}
