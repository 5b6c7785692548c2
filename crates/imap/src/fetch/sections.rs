//! What a FETCH item names (RFC 9051 6.4.5): section names as echoed
//! back, the bytes of a section, and what an item list needs read.

use imap_codec::imap_types::fetch::{MessageDataItemName, Part, Section};

use crate::mime;

fn part_str(p: &Option<Part>) -> String {
    match p {
        Some(p) => {
            let v: Vec<String> = p.0.as_ref().iter().map(|n| n.to_string()).collect();
            format!("{}.", v.join("."))
        }
        None => String::new(),
    }
}

fn path(p: &Option<Part>) -> Vec<u32> {
    p.as_ref()
        .map(|p| p.0.as_ref().iter().map(|n| n.get()).collect())
        .unwrap_or_default()
}

fn names_of(v: &[imap_codec::imap_types::core::AString<'_>]) -> Vec<String> {
    v.iter()
        .map(|s| String::from_utf8_lossy(s.as_ref()).into_owned())
        .collect()
}

/// The section's name as it is echoed back, e.g. `1.HEADER.FIELDS (SUBJECT)`.
pub(super) fn section_name(s: &Option<Section<'_>>) -> String {
    match s {
        None => String::new(),
        Some(Section::Part(p)) => part_str(&Some(p.clone())).trim_end_matches('.').to_string(),
        Some(Section::Header(p)) => format!("{}HEADER", part_str(p)),
        Some(Section::Text(p)) => format!("{}TEXT", part_str(p)),
        Some(Section::Mime(p)) => format!("{}MIME", part_str(&Some(p.clone()))),
        Some(Section::HeaderFields(p, f)) => format!(
            "{}HEADER.FIELDS ({})",
            part_str(p),
            names_of(f.as_ref()).join(" ").to_ascii_uppercase()
        ),
        Some(Section::HeaderFieldsNot(p, f)) => format!(
            "{}HEADER.FIELDS.NOT ({})",
            part_str(p),
            names_of(f.as_ref()).join(" ").to_ascii_uppercase()
        ),
    }
}

/// The bytes of a section; `None` when the part does not exist (sent as
/// an empty string, as RFC 9051 6.4.5 suggests for a missing part).
pub(super) fn section_bytes(
    raw: &[u8],
    msg: Option<&mail_parser::Message<'_>>,
    s: &Option<Section<'_>>,
) -> Vec<u8> {
    let Some(s) = s else {
        return raw.to_vec();
    };
    let Some(msg) = msg else {
        return Vec::new();
    };
    // For HEADER/TEXT/HEADER.FIELDS with a part number, the part must be a
    // message/rfc822 whose header and text are meant.
    let target = |p: &Option<Part>| -> Option<&mail_parser::Message<'_>> {
        match p {
            None => Some(msg),
            Some(_) => {
                let (m, i) = mime::locate(msg, &path(p))?;
                mime::inner(m, i)
            }
        }
    };
    let out = match s {
        Section::Part(p) => {
            mime::locate(msg, &path(&Some(p.clone()))).map(|(m, i)| mime::part_body(m, i).to_vec())
        }
        Section::Mime(p) => mime::locate(msg, &path(&Some(p.clone())))
            .map(|(m, i)| mime::part_header(m, i).to_vec()),
        Section::Header(p) => target(p).map(|m| mime::part_header(m, 0).to_vec()),
        Section::Text(p) => target(p).map(|m| {
            let raw = mime::raw_of(m);
            let start = m.parts.first().map(|p| p.offset_body as usize).unwrap_or(0);
            raw.get(start.min(raw.len())..).unwrap_or(&[]).to_vec()
        }),
        Section::HeaderFields(p, f) => target(p)
            .map(|m| mime::header_fields(mime::part_header(m, 0), &names_of(f.as_ref()), false)),
        Section::HeaderFieldsNot(p, f) => target(p)
            .map(|m| mime::header_fields(mime::part_header(m, 0), &names_of(f.as_ref()), true)),
    };
    out.unwrap_or_default()
}

pub(super) fn needs_bytes(items: &[MessageDataItemName<'_>]) -> bool {
    items.iter().any(|i| {
        !matches!(
            i,
            MessageDataItemName::Flags
                | MessageDataItemName::Uid
                | MessageDataItemName::InternalDate
                | MessageDataItemName::Rfc822Size
                | MessageDataItemName::ModSeq
        ) && !is_summary(i)
    })
}

/// Do the items look inside the message's MIME structure (parts, TEXT,
/// BINARY of a part)? The summary items count only when not yet cached.
pub(super) fn needs_parse(items: &[MessageDataItemName<'_>]) -> bool {
    items.iter().any(|i| match i {
        MessageDataItemName::BodyExt { section, .. } => {
            section.as_ref().is_some_and(|s| !header_section(s))
        }
        MessageDataItemName::Binary { section, .. }
        | MessageDataItemName::BinarySize { section } => !section.is_empty(),
        MessageDataItemName::Rfc822Text => true,
        _ => false,
    })
}

/// Items answered from the cached [`Summary`].
pub(super) fn is_summary(i: &MessageDataItemName<'_>) -> bool {
    matches!(
        i,
        MessageDataItemName::Envelope
            | MessageDataItemName::Body
            | MessageDataItemName::BodyStructure
            | MessageDataItemName::Rfc822Header
    ) || matches!(i, MessageDataItemName::BodyExt { section: Some(s), .. } if header_section(s))
}

/// HEADER, HEADER.FIELDS and HEADER.FIELDS.NOT of the message itself:
/// answered from the cached header block.
pub(super) fn header_section(s: &Section<'_>) -> bool {
    matches!(
        s,
        Section::Header(None) | Section::HeaderFields(None, _) | Section::HeaderFieldsNot(None, _)
    )
}

/// A header section of the message from its header block.
pub(super) fn header_bytes(block: &[u8], s: &Section<'_>) -> Vec<u8> {
    match s {
        Section::HeaderFields(_, f) => mime::header_fields(block, &names_of(f.as_ref()), false),
        Section::HeaderFieldsNot(_, f) => mime::header_fields(block, &names_of(f.as_ref()), true),
        _ => block.to_vec(),
    }
}

/// Does fetching this set `\Seen` (RFC 9051 6.4.5)?
pub(super) fn sets_seen(items: &[MessageDataItemName<'_>]) -> bool {
    items.iter().any(|i| {
        matches!(
            i,
            MessageDataItemName::BodyExt { peek: false, .. }
                | MessageDataItemName::Binary { peek: false, .. }
                | MessageDataItemName::Rfc822
                | MessageDataItemName::Rfc822Text
        )
    })
}
