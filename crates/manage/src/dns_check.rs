//! The records a domain needs (`dns.rs`) next to what DNS answers now,
//! through the configured resolvers (`[dns] servers`, never /etc/hosts):
//! each one published as it should be, or what is wrong with it.

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::{RData, RecordType};

use crate::Manager;
use crate::dns::DnsRecord;
use crate::error::{Error, Result};
use crate::scope::Scope;

/// One record, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCheck {
    pub record: DnsRecord,
    pub ok: bool,
    /// What is wrong (empty when `ok`).
    pub problem: String,
    /// What DNS answered for the name and type, as text.
    pub found: Vec<String>,
}

/// The text of a zone file's TXT data: its quoted strings joined.
fn unquote(zone: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in zone.chars() {
        match c {
            '"' => inside = !inside,
            c if inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Spaces around `;` and runs of spaces do not change a tag list.
fn squeeze(s: &str) -> String {
    s.split(';')
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The first tag of a TXT record (`v=spf1`, `v=DKIM1`, `path=`): two
/// records with the same one are versions of each other.
fn family(text: &str) -> String {
    text.split([';', ' '])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A DKIM record's key (`p=`), the part that must match.
fn dkim_key(text: &str) -> Option<String> {
    text.split(';').find_map(|t| {
        let (k, v) = t.split_once('=')?;
        (k.trim() == "p").then(|| v.split_whitespace().collect())
    })
}

fn host(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

fn rtype(kind: &str) -> Option<RecordType> {
    Some(match kind {
        "MX" => RecordType::MX,
        "TXT" => RecordType::TXT,
        "SRV" => RecordType::SRV,
        "CNAME" => RecordType::CNAME,
        _ => return None,
    })
}

/// What DNS has for `name` and `t`, each answer as text; `Err` is a
/// lookup failure (not an absent record).
async fn lookup(
    resolver: &TokioResolver,
    name: &str,
    t: RecordType,
) -> std::result::Result<Vec<String>, String> {
    match resolver.lookup(name, t).await {
        Ok(l) => Ok(l
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(x) => Some(
                    x.txt_data
                        .iter()
                        .map(|d| String::from_utf8_lossy(d).into_owned())
                        .collect(),
                ),
                RData::MX(m) => Some(format!("{} {}", m.preference, m.exchange.to_ascii())),
                RData::SRV(s) => Some(format!(
                    "{} {} {} {}",
                    s.priority,
                    s.weight,
                    s.port,
                    s.target.to_ascii()
                )),
                RData::CNAME(c) => Some(c.0.to_ascii()),
                _ => None,
            })
            .collect()),
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

/// Is `want` among `found`, and if not, what is wrong.
fn judge(want: &DnsRecord, found: &[String]) -> (bool, String) {
    match want.kind.as_str() {
        "TXT" => {
            let text = unquote(&want.value);
            let fam = family(&text);
            let same: Vec<&String> = found.iter().filter(|f| family(f) == fam).collect();
            let matches = |f: &&String| match dkim_key(&text) {
                Some(k) if fam == "v=dkim1" => dkim_key(f).as_deref() == Some(k.as_str()),
                _ => squeeze(f) == squeeze(&text),
            };
            if same.iter().any(matches) {
                (true, String::new())
            } else if same.is_empty() {
                (false, "not published".into())
            } else if same.len() > 1 && (fam == "v=spf1" || fam == "v=dmarc1") {
                (
                    false,
                    format!("{} records of this kind: only one may exist", same.len()),
                )
            } else if fam == "v=dkim1" {
                (false, "published with another key".into())
            } else {
                (false, format!("published as \"{}\"", same[0]))
            }
        }
        "MX" => {
            let target = want.value.split_whitespace().last().map(host);
            let hosts: Vec<String> = found
                .iter()
                .filter_map(|f| f.split_whitespace().last().map(host))
                .collect();
            if hosts.is_empty() {
                (false, "no MX record".into())
            } else if hosts.iter().any(|h| Some(h) == target.as_ref()) {
                (true, String::new())
            } else {
                (false, format!("MX points to {}", hosts.join(", ")))
            }
        }
        "SRV" => {
            let key = |s: &str| {
                let p: Vec<&str> = s.split_whitespace().collect();
                (p.len() == 4).then(|| (p[2].to_string(), host(p[3])))
            };
            let want_key = key(&want.value);
            if found.is_empty() {
                (false, "not published".into())
            } else if found.iter().any(|f| key(f) == want_key) {
                (true, String::new())
            } else {
                (false, format!("published as \"{}\"", found[0]))
            }
        }
        _ => {
            if found.is_empty() {
                (false, "not published".into())
            } else if found.iter().any(|f| host(f) == host(&want.value)) {
                (true, String::new())
            } else {
                (false, format!("points to {}", found[0]))
            }
        }
    }
}

impl Manager {
    /// Every record `dns_records` lists, looked up now: the answers are
    /// compared, not just their presence (a DKIM record with an old key,
    /// two SPF records, an MX elsewhere are each wrong).
    pub async fn dns_check(&self, scope: &Scope, domain: &str) -> Result<Vec<RecordCheck>> {
        let records = self.dns_records(scope, domain).await?;
        let resolver = tern_queue::dns::dns_only_resolver(&self.config.dns)
            .map_err(|e| Error::unavailable(format!("no DNS resolver: {e}")))?;
        // Every lookup at once: a slow or silent resolver costs one
        // time-out for the page, not one per record.
        let checks = records.into_iter().filter_map(|record| {
            let t = rtype(&record.kind)?;
            let resolver = &resolver;
            Some(async move {
                let (ok, problem, found) = match lookup(resolver, &record.name, t).await {
                    Ok(found) => {
                        let (ok, problem) = judge(&record, &found);
                        (ok, problem, found)
                    }
                    Err(e) => (false, format!("lookup failed: {e}"), Vec::new()),
                };
                RecordCheck {
                    record,
                    ok,
                    problem,
                    found,
                }
            })
        });
        let out = futures_util::future::join_all(checks).await;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(name: &str, text: &str) -> DnsRecord {
        DnsRecord::txt(name, text)
    }

    #[test]
    fn txt_records_are_compared_by_their_tags() {
        let spf = txt("example.org.", "v=spf1 mx -all");
        assert!(judge(&spf, &["v=spf1  mx -all".into()]).0);
        assert_eq!(
            judge(&spf, &["v=spf1 mx ~all".into()]).1,
            "published as \"v=spf1 mx ~all\""
        );
        assert!(
            judge(
                &spf,
                &["google-site-verification=x".into(), "v=spf1 mx -all".into()]
            )
            .0
        );
        assert_eq!(judge(&spf, &[]).1, "not published");
        assert!(
            judge(&spf, &["v=spf1 mx -all".into(), "v=spf1 a -all".into()]).0,
            "the right one is there"
        );
        let two = judge(
            &spf,
            &["v=spf1 a -all".into(), "v=spf1 ip4:1.2.3.4 -all".into()],
        );
        assert!(two.1.contains("only one"), "{two:?}");
    }

    #[test]
    fn a_dkim_record_must_carry_the_current_key() {
        let want = txt("s._domainkey.example.org.", "v=DKIM1; k=ed25519; p=AAAA");
        assert!(judge(&want, &["v=DKIM1;k=ed25519;p=AAAA".into()]).0);
        assert_eq!(
            judge(&want, &["v=DKIM1; k=ed25519; p=BBBB".into()]).1,
            "published with another key"
        );
    }

    #[test]
    fn mx_srv_and_cname_compare_targets() {
        let mx = DnsRecord::new("example.org.", "MX", "10 mail.example.org.");
        assert!(judge(&mx, &["20 Mail.Example.org.".into()]).0);
        assert_eq!(
            judge(&mx, &["10 other.net.".into()]).1,
            "MX points to other.net"
        );
        let srv = DnsRecord::new(
            "_imaps._tcp.example.org.",
            "SRV",
            "0 1 993 mail.example.org.",
        );
        assert!(judge(&srv, &["5 0 993 mail.example.org.".into()]).0);
        assert!(!judge(&srv, &["0 1 143 mail.example.org.".into()]).0);
        let c = DnsRecord::new("autoconfig.example.org.", "CNAME", "mail.example.org.");
        assert!(judge(&c, &["mail.example.org.".into()]).0);
        assert_eq!(judge(&c, &[]).1, "not published");
    }
}
