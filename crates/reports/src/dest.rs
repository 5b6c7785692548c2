//! Where a report may go. DMARC (RFC 7489 7.1): a `mailto:` in another
//! Organizational Domain than the policy domain's only when that domain
//! publishes `<policy domain>._report._dmarc.<its domain>` TXT
//! `v=DMARC1`, and never one whose size limit (`!10m`) the report exceeds.
//! TLS-RPT (RFC 8460 3): `mailto:` and `https:` URIs as published at
//! `_smtp._tls.<domain>`.

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::URI;
use mail_auth::mta_sts::{ReportUri, TlsRpt};
use tern_common::address::Address;
use tern_queue::dns::{Dns, RouteError};

/// A destination left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub uri: String,
    pub why: String,
}

/// The destinations of one report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    /// Mail recipients.
    pub mail: Vec<String>,
    /// `https:` URLs to POST to.
    pub https: Vec<String>,
    pub refused: Vec<Refused>,
}

impl Destinations {
    pub fn is_empty(&self) -> bool {
        self.mail.is_empty() && self.https.is_empty()
    }

    /// As stored: every URI, comma separated.
    pub fn joined(&self) -> String {
        self.mail
            .iter()
            .map(|m| format!("mailto:{m}"))
            .chain(self.https.iter().cloned())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn temp(e: RouteError) -> String {
    match e {
        RouteError::Temporary(e) => e,
        RouteError::Permanent(_, e) => e,
    }
}

/// At most this many destinations per report are considered (RFC 7489
/// 6.2 lets receivers limit them; two is the usual).
const MAX_DESTINATIONS: usize = 4;

/// The `rua` addresses of a DMARC record that may receive a report of
/// `size` octets (the attachment as sent) about `policy_domain`.
pub async fn dmarc(dns: &Dns, policy_domain: &str, rua: &[URI], size: usize) -> Destinations {
    let mut out = Destinations::default();
    let org = tern_mailauth::organizational_domain_of(policy_domain);
    for uri in rua.iter().take(MAX_DESTINATIONS) {
        let text = format!("mailto:{}", uri.uri());
        let address = match Address::parse(uri.uri()) {
            Ok(a) => a,
            Err(_) => {
                out.refused.push(Refused {
                    uri: text,
                    why: "not a mail address".into(),
                });
                continue;
            }
        };
        let dest_domain = address.domain().to_string();
        if uri.max_size() > 0 && size > uri.max_size() {
            out.refused.push(Refused {
                uri: text,
                why: format!(
                    "the report ({size} octets) exceeds its limit of {}",
                    uri.max_size()
                ),
            });
            continue;
        }
        if tern_mailauth::organizational_domain_of(&dest_domain) != org {
            // RFC 7489 7.1: the destination agrees to receive reports
            // about this domain.
            let name = format!("{policy_domain}._report._dmarc.{dest_domain}");
            match dns.txt(&name).await {
                Ok(records) if records.iter().any(|t| is_dmarc1(t)) => {}
                Ok(_) => {
                    out.refused.push(Refused {
                        uri: text,
                        why: format!("{name} does not authorise reports to {dest_domain}"),
                    });
                    continue;
                }
                Err(e) => {
                    out.refused.push(Refused {
                        uri: text,
                        why: format!("cannot verify {name}: {}", temp(e)),
                    });
                    continue;
                }
            }
        }
        let a = address.to_string();
        if !out.mail.contains(&a) {
            out.mail.push(a);
        }
    }
    out
}

fn is_dmarc1(t: &str) -> bool {
    let t = t.trim_start();
    t.strip_prefix('v')
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('='))
        .is_some_and(|r| r.trim_start().starts_with("DMARC1"))
}

/// The TLS-RPT destinations `domain` publishes; `Err` on a DNS failure
/// (the day is tried again), `Ok` empty when it publishes none.
pub async fn tlsrpt(dns: &Dns, domain: &str) -> Result<Destinations, String> {
    let name = format!("_smtp._tls.{domain}");
    let records = dns.txt(&name).await.map_err(temp)?;
    let mut out = Destinations::default();
    // RFC 8460 3: exactly one record starting v=TLSRPTv1, else none.
    let mut found = records
        .iter()
        .filter(|t| t.trim_start().starts_with("v=TLSRPTv1"));
    let (Some(text), None) = (found.next(), found.next()) else {
        return Ok(out);
    };
    let Ok(record) = TlsRpt::parse(text.as_bytes()) else {
        return Ok(out);
    };
    for uri in record.rua.into_iter().take(MAX_DESTINATIONS) {
        match uri {
            ReportUri::Mail(m) => match Address::parse(&m) {
                Ok(a) => out.mail.push(a.to_string()),
                Err(_) => out.refused.push(Refused {
                    uri: format!("mailto:{m}"),
                    why: "not a mail address".into(),
                }),
            },
            ReportUri::Http(u) if u.starts_with("https://") => out.https.push(u),
            ReportUri::Http(u) => out.refused.push(Refused {
                uri: u,
                why: "only https URLs are posted to".into(),
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dmarc1_record_is_recognised_with_spaces() {
        assert!(is_dmarc1("v=DMARC1"));
        assert!(is_dmarc1(" v = DMARC1; rua=mailto:x@y"));
        assert!(!is_dmarc1("v=spf1 -all"));
    }

    #[test]
    fn destinations_join_as_uris() {
        let d = Destinations {
            mail: vec!["a@example.org".into()],
            https: vec!["https://r.example/tls".into()],
            refused: vec![],
        };
        assert_eq!(d.joined(), "mailto:a@example.org,https://r.example/tls");
    }
}
