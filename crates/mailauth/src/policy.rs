//! From verdicts to a disposition, by the `[checks]` settings.

use mail_auth::dmarc::Policy;
use mail_auth::{DmarcResult, SpfResult};
use tern_common::config::{ChecksConfig, TempVerdict, Verdict as CheckVerdict};

use crate::dmarc::Verdict;

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

fn verdict(v: CheckVerdict, reply: String) -> Disposition {
    match v {
        CheckVerdict::Reject => Disposition::Reject(reply),
        CheckVerdict::Junk => Disposition::Junk,
        CheckVerdict::Accept => Disposition::Accept,
    }
}

pub(crate) fn decide(checks: &ChecksConfig, dmarc: &Verdict, spf_mail: SpfResult) -> Decision {
    let domain = dmarc.output.domain();
    let has_policy = dmarc.output.dmarc_record().is_some();
    match dmarc.output.result() {
        DmarcResult::Fail(_) => {
            let mut policy = dmarc.policy;
            let mut override_reason = "";
            if matches!(policy, Policy::Reject | Policy::Quarantine) && !sampled(dmarc.pct) {
                // RFC 7489 6.6.4: a message not selected by `pct` gets the
                // next less strict policy.
                override_reason = "sampled_out";
                policy = match policy {
                    Policy::Reject => Policy::Quarantine,
                    _ => Policy::None,
                };
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
        DmarcResult::TempError(_) => temperror(checks, domain),
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

/// RFC 7489 6.6.3 and RFC 8601 2.7.1: a DNS failure (or checks that ran
/// out of time) means the sender should try again later.
pub(crate) fn temperror(checks: &ChecksConfig, domain: &str) -> Decision {
    let what = if domain.is_empty() {
        "The message".to_string()
    } else {
        format!("DMARC for {domain}")
    };
    Decision {
        disposition: match checks.temperror {
            TempVerdict::Defer => Disposition::Defer(format!(
                "451 4.7.5 {what} could not be evaluated (DNS error), try again later"
            )),
            TempVerdict::Accept => Disposition::Accept,
        },
        override_reason: "",
    }
}

fn sampled(pct: u8) -> bool {
    pct >= 100 || rand::random_range(0u8..100) < pct
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_sampling() {
        assert!(sampled(100));
        assert!(!sampled(0));
    }
}
