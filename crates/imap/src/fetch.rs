//! FETCH (RFC 9051 6.4.5, 7.5.2).

use std::collections::HashMap;

use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::FetchModifier;
use imap_codec::imap_types::fetch::{
    Macro, MacroOrMessageDataItemNames, MessageDataItemName, Part, Section,
};
use imap_codec::imap_types::sequence::SequenceSet;
use tern_store::FlagOp;

use crate::binary;
use crate::budget::{BUSY, ReadError, read_message};
use crate::io::Io;
use crate::mime;
use crate::session::{Flow, Session, Wire};
use crate::wire;

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
fn section_name(s: &Option<Section<'_>>) -> String {
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
fn section_bytes(
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

fn needs_bytes(items: &[MessageDataItemName<'_>]) -> bool {
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
fn needs_parse(items: &[MessageDataItemName<'_>]) -> bool {
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
fn is_summary(i: &MessageDataItemName<'_>) -> bool {
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
fn header_section(s: &Section<'_>) -> bool {
    matches!(
        s,
        Section::Header(None) | Section::HeaderFields(None, _) | Section::HeaderFieldsNot(None, _)
    )
}

/// A header section of the message from its header block.
fn header_bytes(block: &[u8], s: &Section<'_>) -> Vec<u8> {
    match s {
        Section::HeaderFields(_, f) => mime::header_fields(block, &names_of(f.as_ref()), false),
        Section::HeaderFieldsNot(_, f) => mime::header_fields(block, &names_of(f.as_ref()), true),
        _ => block.to_vec(),
    }
}

/// Does fetching this set `\Seen` (RFC 9051 6.4.5)?
fn sets_seen(items: &[MessageDataItemName<'_>]) -> bool {
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

/// RFC 3516 4.2: a part whose encoding we cannot undo.
fn binary_refused<S: Wire>(io: &mut Io<S>, tag: &str, e: binary::BinaryError) -> Flow {
    match e {
        binary::BinaryError::UnknownCte(cte) => io.push_str(&format!(
            "{tag} NO [UNKNOWN-CTE] cannot decode content-transfer-encoding {cte}\r\n"
        )),
        binary::BinaryError::Undecodable => io.push_str(&format!(
            "{tag} NO [PARSE] the part's encoded content is damaged\r\n"
        )),
    }
    Flow::Continue
}

impl Session {
    pub(crate) async fn fetch<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        set: &SequenceSet,
        uid: bool,
        items: MacroOrMessageDataItemNames<'_>,
        modifiers: Vec<FetchModifier>,
    ) -> Flow {
        let mut items: Vec<MessageDataItemName<'_>> = match items {
            MacroOrMessageDataItemNames::Macro(m) => match m {
                Macro::All => Macro::All
                    .expand()
                    .into_iter()
                    .map(|i| i.into_static())
                    .collect(),
                Macro::Fast => Macro::Fast
                    .expand()
                    .into_iter()
                    .map(|i| i.into_static())
                    .collect(),
                Macro::Full => Macro::Full
                    .expand()
                    .into_iter()
                    .map(|i| i.into_static())
                    .collect(),
                _ => return self.bad(io, tag, "unknown FETCH macro"),
            },
            MacroOrMessageDataItemNames::MessageDataItemNames(v) => v,
        };
        // RFC 9051 6.4.9: UID FETCH always reports the UID.
        if uid && !items.contains(&MessageDataItemName::Uid) {
            items.insert(0, MessageDataItemName::Uid);
        }
        // RFC 7162 3.1.4: CHANGEDSINCE, and (3.2.6) VANISHED with it.
        let mut changed_since = None;
        let mut vanished = false;
        for m in &modifiers {
            match m {
                FetchModifier::ChangedSince(v) => changed_since = Some(v.get()),
                FetchModifier::Vanished => vanished = true,
            }
        }
        if vanished && !(uid && self.qresync && changed_since.is_some()) {
            return self.bad(
                io,
                tag,
                "VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE",
            );
        }
        if changed_since.is_some() || items.contains(&MessageDataItemName::ModSeq) {
            self.condstore_used(io);
        }
        if self.condstore
            && !items.contains(&MessageDataItemName::ModSeq)
            && (changed_since.is_some() || items.contains(&MessageDataItemName::Flags))
        {
            items.push(MessageDataItemName::ModSeq);
        }
        // Other sessions' flag changes first, so that the FLAGS sent are
        // current. RFC 3501 7.4.1: EXPUNGE may be sent during UID FETCH,
        // never during FETCH.
        self.sync(io, uid).await;
        let Some(mut idx) = self.resolve(io, tag, set, uid) else {
            return Flow::Continue;
        };
        if let Some(since) = changed_since {
            if vanished {
                self.vanished_earlier(io, Some(set), since).await;
            }
            if let Some(sel) = &self.selected {
                idx.retain(|&i| sel.msgs[i].modseq > since);
            }
        }
        let Some(sel) = &mut self.selected else {
            return Flow::Continue;
        };
        let mailbox = sel.mailbox.id;
        // Implicit \Seen first, so that the FLAGS sent reflect it.
        let mut seen_now = Vec::new();
        if sets_seen(&items) && !sel.read_only {
            let unseen: Vec<u32> = idx
                .iter()
                .map(|&i| &sel.msgs[i])
                .filter(|m| !m.flags.iter().any(|f| f == "\\Seen"))
                .map(|m| m.uid)
                .collect();
            if !unseen.is_empty() {
                match self
                    .store
                    .store_flags(mailbox, &unseen, FlagOp::Add, &["\\Seen".to_string()], None)
                    .await
                {
                    Ok((changed, _)) => {
                        for (u, meta) in changed {
                            if let Some(m) = std::sync::Arc::make_mut(&mut sel.msgs)
                                .iter_mut()
                                .find(|m| m.uid == u)
                            {
                                m.flags = meta.flags;
                                m.modseq = meta.modseq;
                            }
                            seen_now.push(u);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "imap: setting \\Seen failed"),
                }
            }
        }
        let bytes_needed = needs_bytes(&items);
        let parse_needed = needs_parse(&items);
        let wants_summary = items.iter().any(is_summary);
        // Summaries are loaded a batch at a time: a FETCH 1:* of a large
        // mailbox would otherwise hold every message's summary at once.
        for batch in idx.chunks(crate::summary::BATCH) {
            let mut summaries = if wants_summary {
                let uids: Vec<u32> = batch.iter().map(|&i| sel.msgs[i].uid).collect();
                self.opts.summaries.get(&self.store, mailbox, &uids).await
            } else {
                HashMap::new()
            };
            for &i in batch {
                let m = sel.msgs[i].clone();
                let cached = summaries.remove(&m.uid);
                // The share of the memory budget is held until the reply is
                // flushed (or is small): the end of this iteration.
                let (raw, _share) = if bytes_needed || (wants_summary && cached.is_none()) {
                    match read_message(&self.store, &self.opts.budget, mailbox, &m).await {
                        Ok((b, share)) => (Some(b), Some(share)),
                        // Expunged by another session meanwhile: skip it
                        // (RFC 9051 7.5.1 allows omitting such messages).
                        Err(ReadError::Gone) => continue,
                        Err(ReadError::Busy) => {
                            io.push_str(&format!("{tag} {BUSY}\r\n"));
                            return Flow::Continue;
                        }
                        Err(ReadError::Store(e)) => {
                            tracing::warn!(error = %e, "imap: reading a message failed");
                            io.push_str(&format!("{tag} NO [SERVERBUG] cannot read message\r\n"));
                            return Flow::Continue;
                        }
                    }
                } else {
                    (None, None)
                };
                // The MIME tree only for what needs it: BODY[] and RFC822 are
                // the bytes as stored.
                let parsed = if parse_needed || (wants_summary && cached.is_none()) {
                    raw.as_deref().and_then(mime::parse)
                } else {
                    None
                };
                let summary = match cached {
                    Some(s) => Some(s),
                    None if wants_summary => Some(
                        self.opts
                            .summaries
                            .compute(&self.store, mailbox, m.uid, parsed.as_ref())
                            .await,
                    ),
                    None => None,
                };
                let mut out: Vec<u8> = format!("* {} FETCH (", i + 1).into_bytes();
                let mut first = true;
                let mut flags_sent = false;
                for item in &items {
                    if !first {
                        out.push(b' ');
                    }
                    first = false;
                    let rawb = raw.as_deref().unwrap_or(&[]);
                    match item {
                        MessageDataItemName::Flags => {
                            flags_sent = true;
                            out.extend_from_slice(
                                format!("FLAGS {}", sel.recent.flags(&m)).as_bytes(),
                            );
                        }
                        MessageDataItemName::Uid => {
                            out.extend_from_slice(format!("UID {}", m.uid).as_bytes())
                        }
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
                            if let Some(s) = &summary {
                                out.extend_from_slice(&s.envelope);
                            }
                        }
                        MessageDataItemName::Body => {
                            out.extend_from_slice(b"BODY ");
                            if let Some(s) = &summary {
                                out.extend_from_slice(&s.body);
                            }
                        }
                        MessageDataItemName::BodyStructure => {
                            out.extend_from_slice(b"BODYSTRUCTURE ");
                            if let Some(s) = &summary {
                                out.extend_from_slice(&s.bodystructure);
                            }
                        }
                        MessageDataItemName::Rfc822 => {
                            out.extend_from_slice(b"RFC822 ");
                            wire::literal(&mut out, rawb);
                        }
                        MessageDataItemName::Rfc822Header => {
                            out.extend_from_slice(b"RFC822.HEADER ");
                            let h = summary.as_ref().map_or(&[][..], |s| &s.header[..]);
                            wire::literal(&mut out, h);
                        }
                        MessageDataItemName::Rfc822Text => {
                            out.extend_from_slice(b"RFC822.TEXT ");
                            let b =
                                section_bytes(rawb, parsed.as_ref(), &Some(Section::Text(None)));
                            wire::literal(&mut out, &b);
                        }
                        MessageDataItemName::BodyExt {
                            section, partial, ..
                        } => {
                            let data = match (section, &summary) {
                                (Some(s), Some(sum)) if header_section(s) => {
                                    header_bytes(&sum.header, s)
                                }
                                _ => section_bytes(rawb, parsed.as_ref(), section),
                            };
                            let name = section_name(section);
                            match partial {
                                Some((start, len)) => {
                                    let s = (*start as usize).min(data.len());
                                    let e = s.saturating_add(len.get() as usize).min(data.len());
                                    out.extend_from_slice(
                                        format!("BODY[{name}]<{start}> ").as_bytes(),
                                    );
                                    wire::literal(&mut out, &data[s..e]);
                                }
                                None => {
                                    out.extend_from_slice(format!("BODY[{name}] ").as_bytes());
                                    wire::literal(&mut out, &data);
                                }
                            }
                        }
                        MessageDataItemName::Binary {
                            section, partial, ..
                        } => {
                            let data = match binary::decoded(rawb, parsed.as_ref(), section) {
                                Ok(d) => d.unwrap_or_default(),
                                Err(e) => return binary_refused(io, tag, e),
                            };
                            let name = binary::section_name(section);
                            let (data, origin) = match partial {
                                Some((start, len)) => {
                                    let s = (*start as usize).min(data.len());
                                    let e = s.saturating_add(len.get() as usize).min(data.len());
                                    (&data[s..e], format!("<{start}>"))
                                }
                                None => (&data[..], String::new()),
                            };
                            out.extend_from_slice(format!("BINARY[{name}]{origin} ").as_bytes());
                            wire::literal8(&mut out, data);
                        }
                        MessageDataItemName::BinarySize { section } => {
                            let size = match binary::decoded(rawb, parsed.as_ref(), section) {
                                Ok(d) => d.map_or(0, |d| d.len()),
                                Err(e) => return binary_refused(io, tag, e),
                            };
                            let name = binary::section_name(section);
                            out.extend_from_slice(format!("BINARY.SIZE[{name}] {size}").as_bytes());
                        }
                    }
                }
                if seen_now.contains(&m.uid) && !flags_sent {
                    out.extend_from_slice(format!(" FLAGS {}", sel.recent.flags(&m)).as_bytes());
                }
                out.extend_from_slice(b")\r\n");
                io.push(&out);
                if io.wbuf.len() > 256 * 1024 && io.flush().await.is_err() {
                    return Flow::Close;
                }
            }
        }
        self.sync(io, uid).await;
        io.push_str(&format!("{tag} OK FETCH completed\r\n"));
        Flow::Continue
    }
}
