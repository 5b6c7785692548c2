//! One message's FETCH response (RFC 9051 7.5.2): each item written from
//! what was read for it.

use imap_codec::imap_types::fetch::{MessageDataItemName, Section};
use mail_parser::Message;
use tern_store::MessageMeta;

use super::sections::{header_bytes, header_section, section_bytes, section_name};
use crate::binary::{self, BinaryError};
use crate::protocol::wire;
use crate::recent::Recent;
use crate::summary::Summary;

/// What was read for one message; each part only when an item needs it.
pub(super) struct Read<'a> {
    pub meta: &'a MessageMeta,
    /// The message as stored (empty when no item needs it).
    pub raw: &'a [u8],
    pub parsed: Option<&'a Message<'a>>,
    pub summary: Option<&'a Summary>,
    pub recent: &'a Recent,
}

/// `* n FETCH (…)\r\n` for the message at index `i`; `seen_now` adds
/// FLAGS when this FETCH set \Seen and FLAGS was not asked for (RFC 9051
/// 6.4.5).
pub(super) fn response(
    i: usize,
    items: &[MessageDataItemName<'_>],
    r: &Read<'_>,
    seen_now: bool,
) -> Result<Vec<u8>, BinaryError> {
    let mut out: Vec<u8> = format!("* {} FETCH (", i + 1).into_bytes();
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        item_into(&mut out, item, r)?;
    }
    if seen_now && !items.contains(&MessageDataItemName::Flags) {
        out.extend_from_slice(format!(" FLAGS {}", r.recent.flags(r.meta)).as_bytes());
    }
    out.extend_from_slice(b")\r\n");
    Ok(out)
}

fn item_into(
    out: &mut Vec<u8>,
    item: &MessageDataItemName<'_>,
    r: &Read<'_>,
) -> Result<(), BinaryError> {
    let m = r.meta;
    match item {
        MessageDataItemName::Flags => {
            out.extend_from_slice(format!("FLAGS {}", r.recent.flags(m)).as_bytes())
        }
        MessageDataItemName::Uid => out.extend_from_slice(format!("UID {}", m.uid).as_bytes()),
        MessageDataItemName::InternalDate => out.extend_from_slice(
            format!(
                "INTERNALDATE {}",
                wire::internal_date(m.internal_date, m.internal_zone)
            )
            .as_bytes(),
        ),
        MessageDataItemName::Rfc822Size => {
            out.extend_from_slice(format!("RFC822.SIZE {}", m.size).as_bytes())
        }
        MessageDataItemName::ModSeq => {
            out.extend_from_slice(format!("MODSEQ ({})", m.modseq).as_bytes())
        }
        MessageDataItemName::Envelope => {
            out.extend_from_slice(b"ENVELOPE ");
            out.extend_from_slice(r.summary.map_or(&[][..], |s| &s.envelope));
        }
        MessageDataItemName::Body => {
            out.extend_from_slice(b"BODY ");
            out.extend_from_slice(r.summary.map_or(&[][..], |s| &s.body));
        }
        MessageDataItemName::BodyStructure => {
            out.extend_from_slice(b"BODYSTRUCTURE ");
            out.extend_from_slice(r.summary.map_or(&[][..], |s| &s.bodystructure));
        }
        MessageDataItemName::Rfc822 => {
            out.extend_from_slice(b"RFC822 ");
            wire::literal(out, r.raw);
        }
        MessageDataItemName::Rfc822Header => {
            out.extend_from_slice(b"RFC822.HEADER ");
            wire::literal(out, r.summary.map_or(&[][..], |s| &s.header));
        }
        MessageDataItemName::Rfc822Text => {
            out.extend_from_slice(b"RFC822.TEXT ");
            let b = section_bytes(r.raw, r.parsed, &Some(Section::Text(None)));
            wire::literal(out, &b);
        }
        MessageDataItemName::BodyExt {
            section, partial, ..
        } => {
            let data = match (section, r.summary) {
                (Some(s), Some(sum)) if header_section(s) => header_bytes(&sum.header, s),
                _ => section_bytes(r.raw, r.parsed, section),
            };
            let (data, origin) = partial_of(&data, *partial);
            let name = section_name(section);
            out.extend_from_slice(format!("BODY[{name}]{origin} ").as_bytes());
            wire::literal(out, data);
        }
        MessageDataItemName::Binary {
            section, partial, ..
        } => {
            let data = binary::decoded(r.raw, r.parsed, section)?.unwrap_or_default();
            let (data, origin) = partial_of(&data, *partial);
            let name = binary::section_name(section);
            out.extend_from_slice(format!("BINARY[{name}]{origin} ").as_bytes());
            wire::literal8(out, data);
        }
        MessageDataItemName::BinarySize { section } => {
            let size = binary::decoded(r.raw, r.parsed, section)?.map_or(0, |d| d.len());
            let name = binary::section_name(section);
            out.extend_from_slice(format!("BINARY.SIZE[{name}] {size}").as_bytes());
        }
    }
    Ok(())
}

/// `<origin>` partial fetch (RFC 9051 6.4.5): the octets from `start`, at
/// most `len` of them, and the origin as echoed back.
fn partial_of(data: &[u8], partial: Option<(u32, std::num::NonZeroU32)>) -> (&[u8], String) {
    match partial {
        Some((start, len)) => {
            let s = (start as usize).min(data.len());
            let e = s.saturating_add(len.get() as usize).min(data.len());
            (&data[s..e], format!("<{start}>"))
        }
        None => (data, String::new()),
    }
}
