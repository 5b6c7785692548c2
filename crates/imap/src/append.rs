//! APPEND (RFC 9051 6.3.12), with APPENDUID (RFC 4315 3) and the UTF8
//! form (RFC 6855 4).

use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use tern_store::{MailboxSel, NewMessage};

use crate::mime;
use crate::protocol::io::{Io, Wire};
use crate::replies::store_no;
use crate::session::Session;
use crate::summary::Summary;

/// APPEND's message bytes, in either literal form.
pub(crate) fn message_bytes(message: LiteralOrLiteral8<'_>) -> Vec<u8> {
    match message {
        LiteralOrLiteral8::Literal(l) => l.data().to_vec(),
        LiteralOrLiteral8::Literal8(l) => l.data.to_vec(),
    }
}

/// APPEND's date-time as (seconds since the epoch, zone in minutes east):
/// the zone is kept, as FETCH INTERNALDATE shows it and BEFORE/ON/SINCE
/// compare in it (RFC 3501 6.4.4). Without one, now in UTC.
pub(crate) fn internal_date(date: Option<DateTime>) -> (i64, i32) {
    match date {
        Some(d) => {
            let d = d.as_ref();
            (d.timestamp(), d.offset().local_minus_utc() / 60)
        }
        None => (tern_common::time::now_secs(), 0),
    }
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn append<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        name: &str,
        bytes: Vec<u8>,
        flags: Vec<String>,
        (date, zone): (i64, i32),
    ) {
        if flags.len() > crate::view::MAX_FLAGS {
            io.push_str(&format!("{tag} NO [LIMIT] too many flags on a message\r\n"));
            return;
        }
        let mb = match self.store.mailbox_get(account, name).await {
            Ok(Some(mb)) => mb,
            Ok(None) => {
                // RFC 9051 6.3.12: TRYCREATE tells the client to CREATE first.
                io.push_str(&format!("{tag} NO [TRYCREATE] no such mailbox\r\n"));
                return;
            }
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return;
            }
        };
        // The summary now, from the bytes in hand, rather than at the first
        // FETCH — a mailbox being migrated in is read right after.
        let summary = std::sync::Arc::new(Summary::of(mime::parse(&bytes).as_ref()));
        let msg = NewMessage {
            account_id: account,
            mailbox: MailboxSel::Id(mb.id),
            bytes,
            flags,
            internal_date: date,
            internal_zone: zone,
            summary: summary.worth_keeping().then(|| summary.encode()),
        };
        match self.store.deliver(vec![msg]).await {
            Ok(d) => {
                if let Some(d) = d.first()
                    && summary.worth_keeping()
                {
                    self.opts.summaries.keep(mb.id, d.uid, &summary);
                }
                self.sync(io, true).await;
                // RFC 4315 3: APPENDUID.
                match d.first() {
                    Some(d) => io.push_str(&format!(
                        "{tag} OK [APPENDUID {} {}] APPEND completed\r\n",
                        d.uidvalidity, d.uid
                    )),
                    None => io.push_str(&format!("{tag} OK APPEND completed\r\n")),
                }
            }
            Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
        }
    }
}
