//! The DNS records a domain needs published, generated from the
//! configuration (host name, listeners) and the store (DKIM keys): what
//! `tern quickstart` prints and `GET /api/v1/domains/{d}/dns` returns.

use serde::Serialize;
use tern_common::config::ListenerKind;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::Result;
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DnsRecord {
    /// The owner name, fully qualified with its final dot.
    pub name: String,
    /// `MX`, `TXT`, `SRV`, `CNAME`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The record data as a zone file writes it (TXT data as quoted
    /// strings of at most 255 octets, RFC 1035 3.3.14).
    pub value: String,
}

impl DnsRecord {
    pub fn new(name: &str, kind: &str, value: &str) -> DnsRecord {
        DnsRecord {
            name: name.to_string(),
            kind: kind.to_string(),
            value: value.to_string(),
        }
    }

    /// A TXT record from its text, split into strings as a zone file needs.
    pub fn txt(name: &str, text: &str) -> DnsRecord {
        DnsRecord::new(name, "TXT", &zone_strings(text))
    }

    /// `name TYPE value`, as a zone file line.
    pub fn zone_line(&self) -> String {
        format!("{} {} {}", self.name, self.kind, self.value)
    }
}

/// A TXT record's text as zone-file strings of at most 255 octets each.
pub fn zone_strings(text: &str) -> String {
    text.as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 6186 3 (RFC 5804 1.8 for ManageSieve, RFC 6764 3 for CalDAV and
/// CardDAV): the services a client looks up, and the listener kind that
/// offers each.
const SRV: [(&str, ListenerKind); 7] = [
    ("_imaps._tcp", ListenerKind::Imaps),
    ("_submissions._tcp", ListenerKind::Submissions),
    ("_submission._tcp", ListenerKind::Submission),
    ("_pop3s._tcp", ListenerKind::Pop3s),
    ("_sieve._tcp", ListenerKind::Managesieve),
    ("_caldavs._tcp", ListenerKind::Https),
    ("_carddavs._tcp", ListenerKind::Https),
];

impl Manager {
    /// Every record to publish for a domain in the caller's scope: MX,
    /// SPF, DMARC, DKIM, TLS-RPT, MTA-STS when the domain publishes a
    /// policy, the client SRV records, and the autoconfig names when tern
    /// serves HTTP.
    pub async fn dns_records(&self, scope: &Scope, domain: &str) -> Result<Vec<DnsRecord>> {
        let domain = self.known_domain(scope, domain).await?;
        let host = format!("{}.", self.config.hostname.trim_end_matches('.'));
        let d = format!("{domain}.");
        let mut out = vec![
            DnsRecord::new(&d, "MX", &format!("10 {host}")),
            DnsRecord::txt(&d, "v=spf1 mx -all"),
            DnsRecord::txt(
                &format!("_dmarc.{d}"),
                &format!("v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}"),
            ),
        ];
        for k in self.dkim_list(scope, Some(&domain)).await? {
            out.push(k.record);
        }
        // RFC 8460 3: where sending servers report TLS failures.
        out.push(DnsRecord::txt(
            &format!("_smtp._tls.{d}"),
            &format!("v=TLSRPTv1; rua=mailto:postmaster@{domain}"),
        ));
        // RFC 8461 3.1: the policy's id, when the domain publishes one
        // (`tern domain mta-sts`); its host name is served by https.
        if let Some(p) = self.mta_sts_get(scope, &domain).await? {
            out.push(p.record);
            out.push(DnsRecord::new(&format!("mta-sts.{d}"), "CNAME", &host));
        }
        out.extend(self.srv_records(&d, &host));
        // RFC 6764 4: where on that host the DAV services start.
        if self
            .config
            .listeners
            .iter()
            .any(|l| l.kind == ListenerKind::Https)
        {
            for service in ["_caldavs._tcp", "_carddavs._tcp"] {
                out.push(DnsRecord::txt(&format!("{service}.{d}"), "path=/dav/"));
            }
        }
        let http = self
            .config
            .listeners
            .iter()
            .any(|l| matches!(l.kind, ListenerKind::Http | ListenerKind::Https));
        if http {
            for name in ["autoconfig", "autodiscover"] {
                out.push(DnsRecord::new(&format!("{name}.{d}"), "CNAME", &host));
            }
        }
        Ok(out)
    }

    /// RFC 6186 3.1/4: each service at the port tern listens on, or the
    /// target "." for a service it does not offer.
    fn srv_records(&self, d: &str, host: &str) -> Vec<DnsRecord> {
        SRV.iter()
            .map(|(service, kind)| {
                let value = match self.config.listeners.iter().find(|l| l.kind == *kind) {
                    Some(l) => format!("0 1 {} {host}", l.port),
                    None => "0 0 0 .".to_string(),
                };
                DnsRecord::new(&format!("{service}.{d}"), "SRV", &value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_txt_is_split_into_strings() {
        let text = "a".repeat(300);
        let r = DnsRecord::txt("x.example.", &text);
        assert_eq!(
            r.value,
            format!("\"{}\" \"{}\"", "a".repeat(255), "a".repeat(45))
        );
        assert_eq!(r.zone_line(), format!("x.example. TXT {}", r.value));
    }
}
