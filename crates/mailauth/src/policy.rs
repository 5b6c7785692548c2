//! From verdicts to a disposition, by the `[checks]` settings.

use mail_auth::dmarc::Policy;
use mail_auth::{DmarcOutput, DmarcResult, MessageAuthenticator, SpfResult};
use tern_common::config::{ChecksConfig, TempVerdict, Verdict};

/// What the SMTP pipeline does with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Deliver to the inbox.
    Accept,
    /// Deliver to the recipient's Junk mailbox.
    Junk,
    /// Refuse at the end of DATA with this reply ("550 5.7.1 ...").
    Reject(String),
    /// Answer this temporary failure ("451 4.7.5 ...").
    Defer(String),
}

impl Disposition {
    pub fn name(&self) -> &'static str {
        match self {
            Disposition::Accept => "accept",
            Disposition::Junk => "junk",
            Disposition::Reject(_) => "reject",
            Disposition::Defer(_) => "defer",
        }
    }
}

/// The decision and, when the published policy was not applied as
/// written, why (RFC 7489 7.2.1.1 PolicyOverrideType).
pub(crate) struct Decision {
    pub disposition: Disposition,
    pub override_reason: &'static str,
}

fn verdict(v: Verdict, reply: String) -> Disposition {
    match v {
        Verdict::Reject => Disposition::Reject(reply),
        Verdict::Junk => Disposition::Junk,
        Verdict::Accept => Disposition::Accept,
    }
}

pub(crate) async fn decide(
    checks: &ChecksConfig,
    auth: &MessageAuthenticator,
    dmarc: &DmarcOutput,
    spf_mail: SpfResult,
) -> Decision {
    let domain = dmarc.domain();
    let has_policy = dmarc.dmarc_record().is_some();
    match dmarc.result() {
        DmarcResult::Fail(_) => {
            let mut policy = dmarc.policy();
            let mut override_reason = "";
            if matches!(policy, Policy::Reject | Policy::Quarantine) {
                // RFC 7489 6.6.4: a message not selected by `pct` gets the
                // next less strict policy.
                let pct = pct(auth, domain).await;
                if !sampled(pct) {
                    override_reason = "sampled_out";
                    policy = match policy {
                        Policy::Reject => Policy::Quarantine,
                        _ => Policy::None,
                    };
                }
            }
            let disposition = match policy {
                Policy::Reject => verdict(
                    checks.dmarc_reject,
                    format!("550 5.7.1 Rejected by the DMARC policy of {domain}"),
                ),
                Policy::Quarantine => verdict(
                    checks.dmarc_quarantine,
                    format!("550 5.7.1 Rejected by the DMARC policy of {domain}"),
                ),
                Policy::None | Policy::Unspecified => Disposition::Accept,
            };
            Decision {
                disposition,
                override_reason,
            }
        }
        DmarcResult::TempError(_) => Decision {
            // RFC 7489 6.6.3 and RFC 8601 2.7.1: a DNS failure means the
            // sender should try again later.
            disposition: match checks.temperror {
                TempVerdict::Defer => Disposition::Defer(format!(
                    "451 4.7.5 DMARC for {domain} could not be evaluated (DNS error), try again later"
                )),
                TempVerdict::Accept => Disposition::Accept,
            },
            override_reason: "",
        },
        _ if !has_policy && spf_mail == SpfResult::Fail => Decision {
            disposition: verdict(
                checks.spf_fail_without_dmarc,
                "550 5.7.23 SPF validation failed".to_string(),
            ),
            override_reason: "",
        },
        _ => Decision {
            disposition: Disposition::Accept,
            override_reason: "",
        },
    }
}

fn sampled(pct: u8) -> bool {
    pct >= 100 || rand::random_range(0u8..100) < pct
}

/// The `pct` tag (RFC 7489 6.3) of the DMARC record that applies to
/// `domain`: the closest one walking up the tree, as policy discovery does
/// (RFC 7489 6.6.3, RFC 9989 4.10). mail-auth follows DMARCbis, which
/// dropped `pct`, so the tag is read from the record text here. 100 when
/// absent or unreadable.
async fn pct(auth: &MessageAuthenticator, domain: &str) -> u8 {
    let mut name = domain.trim_end_matches('.');
    // At most 8 lookups, as the DMARCbis tree walk.
    for _ in 0..8 {
        if !name.contains('.') {
            break;
        }
        let query = format!("_dmarc.{name}.");
        if let Ok(txt) = auth.0.txt_lookup(query).await {
            for record in txt.answers() {
                if let mail_auth::hickory_resolver::proto::rr::RData::TXT(t) = &record.data {
                    let text: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
                    let text = String::from_utf8_lossy(&text);
                    if let Some(p) = parse_pct(&text) {
                        return p;
                    }
                    if is_dmarc(&text) {
                        return 100;
                    }
                }
            }
        }
        match name.split_once('.') {
            Some((_, parent)) => name = parent,
            None => break,
        }
    }
    100
}

fn is_dmarc(text: &str) -> bool {
    text.trim_start()
        .strip_prefix("v")
        .map(|r| r.trim_start())
        .and_then(|r| r.strip_prefix('='))
        .is_some_and(|r| r.trim_start().starts_with("DMARC1"))
}

fn parse_pct(text: &str) -> Option<u8> {
    if !is_dmarc(text) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_tag() {
        assert_eq!(parse_pct("v=DMARC1; p=reject; pct=25"), Some(25));
        assert_eq!(parse_pct("v=DMARC1;p=reject;PCT = 0"), Some(0));
        assert_eq!(parse_pct("v=DMARC1; p=reject; pct=250"), None);
        assert_eq!(parse_pct("v=DMARC1; p=reject"), None);
        assert_eq!(parse_pct("v=spf1 pct=3"), None);
        assert!(sampled(100));
        assert!(!sampled(0));
    }
}
