//! `[reports]`: DMARC aggregate reports (RFC 7489 7.2) and TLS-RPT reports
//! (RFC 8460) sent once a day about the mail tern received and delivered,
//! and the addresses whose incoming reports are read and kept. Sending is
//! off by default: a report names the servers that sent mail.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;
use crate::address::Address;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportsConfig {
    /// Send DMARC aggregate reports to the domains that ask (`rua=`).
    pub dmarc: bool,
    /// Send TLS-RPT reports to the domains that ask (`_smtp._tls`).
    pub tlsrpt: bool,
    /// The organisation named in reports (default: the host name).
    pub org_name: String,
    /// The address reports come from, DKIM-signed with its domain's key;
    /// required when either kind is sent.
    pub from: Option<String>,
    /// Extra contact information in reports (default: `from`).
    pub contact: Option<String>,
    /// The UTC hour at which the previous day's reports go out.
    pub hour: u8,
    /// Where incoming reports are read: a local part at every hosted
    /// domain (`postmaster`), or a whole address.
    pub receive: Vec<String>,
    /// Incoming report mail and a report's uncompressed size are read up
    /// to this; larger ones are kept as mail only.
    pub max_report_kib: u64,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            dmarc: false,
            tlsrpt: false,
            org_name: String::new(),
            from: None,
            contact: None,
            hour: 1,
            receive: vec!["postmaster".into()],
            max_report_kib: 10 * 1024,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReports {
    dmarc: Option<bool>,
    tlsrpt: Option<bool>,
    org_name: Option<String>,
    from: Option<Spanned<String>>,
    contact: Option<String>,
    hour: Option<Spanned<u8>>,
    receive: Option<Spanned<Vec<String>>>,
    max_report_kib: Option<Spanned<u64>>,
}

impl ReportsConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawReports, hostname: &str) -> ReportsConfig {
        let d = ReportsConfig::default();
        let dmarc = raw.dmarc.unwrap_or(d.dmarc);
        let tlsrpt = raw.tlsrpt.unwrap_or(d.tlsrpt);
        let from = match &raw.from {
            Some(f) => match Address::parse(f.get_ref().trim()) {
                Ok(a) => Some(a.to_string()),
                Err(_) => {
                    c.err_at("reports.from", f, "an address, e.g. reports@example.org");
                    None
                }
            },
            None => {
                if dmarc || tlsrpt {
                    c.err(
                        "reports.from",
                        "required when reports are sent: the address reports come from, in a domain tern signs for",
                    );
                }
                None
            }
        };
        let hour = match &raw.hour {
            Some(h) if *h.get_ref() < 24 => *h.get_ref(),
            Some(h) => {
                c.err_at("reports.hour", h, "an hour from 0 to 23 (UTC)");
                d.hour
            }
            None => d.hour,
        };
        let receive = match &raw.receive {
            None => d.receive,
            Some(list) => {
                let mut out = Vec::new();
                for entry in list.get_ref() {
                    let e = entry.trim().to_ascii_lowercase();
                    let ok = if e.contains('@') {
                        Address::parse(&e).is_ok()
                    } else {
                        !e.is_empty() && Address::parse(&format!("{e}@example.org")).is_ok()
                    };
                    if ok {
                        out.push(e);
                    } else {
                        c.err_at(
                            "reports.receive",
                            list,
                            format!("{entry:?}: a local part (postmaster) or an address"),
                        );
                    }
                }
                out
            }
        };
        ReportsConfig {
            dmarc,
            tlsrpt,
            org_name: raw
                .org_name
                .clone()
                .filter(|o| !o.trim().is_empty())
                .unwrap_or_else(|| hostname.to_string()),
            from,
            contact: raw.contact.clone().filter(|c| !c.trim().is_empty()),
            hour,
            receive,
            max_report_kib: c.positive(
                "reports.max_report_kib",
                &raw.max_report_kib,
                d.max_report_kib,
            ),
        }
    }

    /// Whether mail to `address` (normalised) carries reports to read.
    pub fn receives(&self, address: &str) -> bool {
        let address = address.to_ascii_lowercase();
        let local = address.rsplit_once('@').map_or("", |(l, _)| l);
        self.receive.iter().any(|r| {
            if r.contains('@') {
                *r == address
            } else {
                r == local
            }
        })
    }
}
