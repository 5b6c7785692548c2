//! DMARC (RFC 7489): policy discovery through the Organizational Domain
//! taken from the public suffix list, identifier alignment, and the
//! `dmarc=` clause of our `Authentication-Results`.
//!
//! mail-auth parses the record and owns the result types; its own
//! evaluator follows the DNS tree walk of DMARCbis instead of the public
//! suffix list, so discovery and alignment are done here.

use std::sync::Arc;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::{Alignment, Dmarc, Policy};
use mail_auth::hickory_resolver::proto::rr::RData;
use mail_auth::{
    DkimOutput, DkimResult, DmarcOutput, DmarcResult, DnsError, Error, MessageAuthenticator,
    SpfOutput, SpfResult,
};

/// The DMARC verdict for one message.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    /// Header-From domain, per-mechanism results and the record applied.
    pub output: DmarcOutput,
    /// The policy that applies to the From domain: `p`, or `sp` when the
    /// record was found at the Organizational Domain (RFC 7489 6.6.3).
    pub policy: Policy,
    /// The `pct` tag (RFC 7489 6.3), 100 when absent.
    pub pct: u8,
}

impl Verdict {
    fn none(domain: &str) -> Verdict {
        Verdict {
            output: DmarcOutput::new(domain.to_string()),
            policy: Policy::None,
            pct: 100,
        }
    }

    /// The clause for `Authentication-Results` (RFC 7489 11.2), starting
    /// with the separator: `;\r\n\tdmarc=pass header.from=… policy.dmarc=…`.
    pub fn clause(&self) -> String {
        let result = match self.output.result() {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail(_) => "fail",
            DmarcResult::TempError(_) => "temperror",
            DmarcResult::PermError(_) => "permerror",
            DmarcResult::None => "none",
        };
        let policy = match self.policy {
            Policy::Reject => "reject",
            Policy::Quarantine => "quarantine",
            Policy::None | Policy::Unspecified => "none",
        };
        let domain = self.output.domain();
        if domain.is_empty() {
            return format!(";\r\n\tdmarc={result}");
        }
        format!(";\r\n\tdmarc={result} header.from={domain} policy.dmarc={policy}")
    }
}

/// The Organizational Domain (RFC 7489 3.2): the public suffix plus one
/// label; a name that is itself a public suffix is its own.
pub(crate) fn organizational_domain(domain: &str) -> String {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    match psl::domain_str(&domain) {
        Some(org) => org.to_string(),
        None => domain,
    }
}

/// The Organizational Domain, for callers outside this crate.
pub fn organizational_domain_of(domain: &str) -> String {
    organizational_domain(domain)
}

/// Identifier alignment (RFC 7489 3.1): strict asks for the same name,
/// relaxed for the same Organizational Domain.
pub(crate) fn aligned(identifier: &str, from: &str, mode: Alignment) -> bool {
    let id = identifier.trim_end_matches('.').to_ascii_lowercase();
    let from = from.trim_end_matches('.').to_ascii_lowercase();
    if id == from {
        return true;
    }
    mode == Alignment::Relaxed && organizational_domain(&id) == organizational_domain(&from)
}

enum Lookup {
    Found(Arc<Dmarc>, u8),
    Absent,
    TempError(String),
}

/// The DMARC record at `_dmarc.<domain>`, RFC 7489 6.6.3: TXT records not
/// starting with `v=DMARC1` are discarded; none or more than one left
/// means no policy here.
async fn lookup(auth: &MessageAuthenticator, domain: &str) -> Lookup {
    let name = format!("_dmarc.{domain}.");
    let answer = match auth.0.txt_lookup(name).await {
        Ok(a) => a,
        Err(e) => {
            return match Error::from(e) {
                Error::Dns(DnsError::RecordNotFound(_)) => Lookup::Absent,
                other => Lookup::TempError(other.to_string()),
            };
        }
    };
    let mut records = answer.answers().iter().filter_map(|r| match &r.data {
        RData::TXT(t) => {
            let text: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
            is_dmarc(&text).then_some(text)
        }
        _ => None,
    });
    let (Some(text), None) = (records.next(), records.next()) else {
        return Lookup::Absent;
    };
    match Dmarc::parse(&text) {
        Ok(mut record) => {
            // Item 6: an invalid or missing `p` with a valid `rua` counts as
            // `p=none`; without `rua` the record is discarded.
            if record.p == Policy::Unspecified {
                if record.rua.is_empty() {
                    return Lookup::Absent;
                }
                record.p = Policy::None;
            }
            if record.sp == Policy::Unspecified {
                record.sp = record.p;
            }
            let pct = parse_pct(&String::from_utf8_lossy(&text)).unwrap_or(100);
            Lookup::Found(Arc::new(record), pct)
        }
        Err(_) => Lookup::Absent,
    }
}

/// The record at `_dmarc.<domain>` itself (no Organizational Domain), as
/// `p=…` text, for `tern doctor`.
pub(crate) async fn own_record(
    auth: &MessageAuthenticator,
    domain: &str,
) -> Result<String, String> {
    match lookup(auth, domain).await {
        Lookup::Found(d, pct) => Ok(format!("p={} pct={pct}", policy_name(d.p))),
        Lookup::Absent => Err(format!(
            "no valid DMARC record at _dmarc.{domain} (exactly one TXT record starting v=DMARC1)"
        )),
        Lookup::TempError(e) => Err(format!("DNS error: {e}")),
    }
}

/// The DMARC record that governs mail from `from`, for aggregate reports
/// (RFC 7489 7.2): found at the domain itself or at its Organizational
/// Domain, with the name it was found at.
#[derive(Debug, Clone)]
pub struct Published {
    /// Where the record was found: the policy domain a report is about.
    pub domain: String,
    pub record: Arc<Dmarc>,
    /// The `pct` tag, 100 when absent.
    pub pct: u8,
}

/// Discover the record for `from` as delivery does (RFC 7489 6.6.3):
/// `Ok(None)` when there is none, `Err` on a DNS error.
pub async fn published(
    auth: &MessageAuthenticator,
    from: &str,
) -> Result<Option<Published>, String> {
    let from = from.trim_end_matches('.').to_ascii_lowercase();
    let org = organizational_domain(&from);
    let mut names = vec![from.clone()];
    if org != from {
        names.push(org);
    }
    for name in names {
        match lookup(auth, &name).await {
            Lookup::Found(record, pct) => {
                return Ok(Some(Published {
                    domain: name,
                    record,
                    pct,
                }));
            }
            Lookup::TempError(e) => return Err(e),
            Lookup::Absent => {}
        }
    }
    Ok(None)
}

fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Reject => "reject",
        Policy::Quarantine => "quarantine",
        _ => "none",
    }
}

fn is_dmarc(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(text);
    text.trim_start()
        .strip_prefix('v')
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('='))
        .is_some_and(|r| r.trim_start().starts_with("DMARC1"))
}

/// The `pct` tag; mail-auth follows DMARCbis, which dropped it.
pub(crate) fn parse_pct(text: &str) -> Option<u8> {
    if !is_dmarc(text.as_bytes()) {
        return None;
    }
    text.split(';').find_map(|tag| {
        let (k, v) = tag.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("pct") {
            v.trim().parse::<u8>().ok().filter(|p| *p <= 100)
        } else {
            None
        }
    })
}

/// The RFC 5322.From domain, or `None` when DMARC does not apply: no
/// domain, or several authors in different domains (RFC 7489 6.6.1).
pub(crate) fn from_domain(from: &[String]) -> Option<String> {
    let mut domain: Option<String> = None;
    for address in from {
        let Some((_, d)) = address.rsplit_once('@') else {
            continue;
        };
        let d = mail_auth::common::to_a_label(d.trim_end_matches('.')).to_ascii_lowercase();
        match &domain {
            None => domain = Some(d),
            Some(first) if *first != d => return None,
            Some(_) => {}
        }
    }
    domain.filter(|d| !d.is_empty())
}

/// Evaluate DMARC for a message whose authors are `from`, given the SPF
/// verdict on the MAIL FROM identity (`mail_from_domain`) and the DKIM
/// verdicts of its signatures.
pub(crate) async fn evaluate(
    auth: &MessageAuthenticator,
    from: &[String],
    mail_from_domain: &str,
    spf: &SpfOutput,
    dkim: &[DkimOutput<'_>],
) -> Verdict {
    let Some(from) = from_domain(from) else {
        return Verdict::none("");
    };
    // RFC 7489 6.6.3: the From domain first, then its Organizational Domain.
    let org = organizational_domain(&from);
    let (record, pct, at_org) = match lookup(auth, &from).await {
        Lookup::Found(r, pct) => (r, pct, false),
        Lookup::TempError(e) => return temperror(&from, e),
        Lookup::Absent if org == from => return Verdict::none(&from),
        Lookup::Absent => match lookup(auth, &org).await {
            Lookup::Found(r, pct) => (r, pct, true),
            Lookup::TempError(e) => return temperror(&from, e),
            Lookup::Absent => return Verdict::none(&from),
        },
    };
    let policy = if at_org { record.sp } else { record.p };

    let spf_result = match spf.result() {
        SpfResult::Pass if aligned(mail_from_domain, &from, record.aspf) => DmarcResult::Pass,
        SpfResult::Pass => DmarcResult::Fail(Error::NotAligned),
        // A DNS error on an identifier that would align: DMARC can be
        // neither pass nor fail on SPF's account.
        SpfResult::TempError if aligned(mail_from_domain, &from, record.aspf) => {
            DmarcResult::TempError(Error::Dns(DnsError::Resolver("SPF temperror".into())))
        }
        _ => DmarcResult::None,
    };

    let mut dkim_result = DmarcResult::None;
    for out in dkim {
        let Some(sig) = out.signature() else { continue };
        let is_aligned = aligned(&sig.d, &from, record.adkim);
        match out.result() {
            DkimResult::Pass if is_aligned => {
                dkim_result = DmarcResult::Pass;
                break;
            }
            DkimResult::Pass if dkim_result == DmarcResult::None => {
                dkim_result = DmarcResult::Fail(Error::NotAligned);
            }
            DkimResult::TempError(e) if is_aligned => {
                dkim_result = DmarcResult::TempError(e.clone());
            }
            _ => {}
        }
    }

    Verdict {
        output: DmarcOutput::new(from)
            .with_spf_result(spf_result)
            .with_dkim_result(dkim_result)
            .with_record(record),
        policy,
        pct,
    }
}

/// The author's domain when the message provably comes from it: DMARC
/// passed, or — the domain publishing no DMARC record — a passing SPF or
/// DKIM identifier is aligned with it in relaxed mode (RFC 7489 3.1). What
/// approval in the Screener binds to, so a forged From is a stranger.
pub(crate) fn authenticated_author(
    from: &[String],
    mail_from_domain: &str,
    spf: &SpfOutput,
    dkim: &[DkimOutput<'_>],
    verdict: &Verdict,
) -> Option<String> {
    let domain = from_domain(from)?;
    match verdict.output.result() {
        DmarcResult::Pass => return Some(domain),
        DmarcResult::None if verdict.output.dmarc_record().is_none() => {}
        _ => return None,
    }
    let spf_ok = matches!(spf.result(), SpfResult::Pass)
        && aligned(mail_from_domain, &domain, Alignment::Relaxed);
    let dkim_ok = dkim.iter().any(|out| {
        matches!(out.result(), DkimResult::Pass)
            && out
                .signature()
                .is_some_and(|sig| aligned(&sig.d, &domain, Alignment::Relaxed))
    });
    (spf_ok || dkim_ok).then_some(domain)
}

fn temperror(from: &str, e: String) -> Verdict {
    let err = DmarcResult::TempError(Error::Dns(DnsError::Resolver(e)));
    Verdict {
        output: DmarcOutput::new(from.to_string())
            .with_spf_result(err.clone())
            .with_dkim_result(err),
        policy: Policy::None,
        pct: 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizational_domains_follow_the_public_suffix_list() {
        assert_eq!(organizational_domain("mail.example.com"), "example.com");
        assert_eq!(organizational_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("Example.CO.UK."), "example.co.uk");
        // A private-section suffix: every user is its own organization.
        assert_eq!(organizational_domain("alice.github.io"), "alice.github.io");
        assert_eq!(
            organizational_domain("x.alice.github.io"),
            "alice.github.io"
        );
        // A public suffix is its own Organizational Domain.
        assert_eq!(organizational_domain("co.uk"), "co.uk");
        // Names under unlisted TLDs use the default rule "*".
        assert_eq!(organizational_domain("mx.bank.test"), "bank.test");
    }

    #[test]
    fn alignment_modes() {
        let (r, s) = (Alignment::Relaxed, Alignment::Strict);
        assert!(aligned("example.com", "example.com", s));
        assert!(aligned("Bounce.Example.com.", "example.com", r));
        assert!(!aligned("bounce.example.com", "example.com", s));
        assert!(aligned("example.com", "news.example.com", r));
        assert!(aligned("a.example.co.uk", "b.example.co.uk", r));
        assert!(!aligned("example.co.uk", "other.co.uk", r));
        assert!(!aligned("alice.github.io", "bob.github.io", r));
        assert!(!aligned("example.com", "example.net", r));
    }

    #[test]
    fn from_domains() {
        assert_eq!(
            from_domain(&["a@Example.COM".into()]).as_deref(),
            Some("example.com")
        );
        assert_eq!(
            from_domain(&["a@example.com".into(), "b@example.com".into()]).as_deref(),
            Some("example.com")
        );
        assert_eq!(
            from_domain(&["a@example.com".into(), "b@example.net".into()]),
            None
        );
        assert_eq!(from_domain(&[]), None);
        assert_eq!(
            from_domain(&["user@bücher.example".into()]).as_deref(),
            Some("xn--bcher-kva.example")
        );
    }

    #[test]
    fn pct_tag() {
        assert_eq!(parse_pct("v=DMARC1; p=reject; pct=25"), Some(25));
        assert_eq!(parse_pct("v=DMARC1;p=reject;PCT = 0"), Some(0));
        assert_eq!(parse_pct("v=DMARC1; p=reject; pct=250"), None);
        assert_eq!(parse_pct("v=DMARC1; p=reject"), None);
        assert_eq!(parse_pct("v=spf1 pct=3"), None);
    }

    #[test]
    fn clauses() {
        let v = Verdict {
            output: DmarcOutput::new("example.com".into()).with_dkim_result(DmarcResult::Pass),
            policy: Policy::Reject,
            pct: 100,
        };
        assert_eq!(
            v.clause(),
            ";\r\n\tdmarc=pass header.from=example.com policy.dmarc=reject"
        );
        assert_eq!(Verdict::none("").clause(), ";\r\n\tdmarc=none");
    }
}
