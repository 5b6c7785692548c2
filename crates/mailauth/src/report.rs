//! The per-message record for DMARC aggregate reports (RFC 7489 7.2).

use std::net::IpAddr;

use mail_auth::{DkimOutput, DkimResult, DmarcResult, SpfOutput, SpfResult};

use crate::dmarc::Verdict;
use tern_store::DmarcRecord;

pub(crate) fn spf_name(r: SpfResult) -> &'static str {
    match r {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

pub(crate) fn dkim_name(r: &DkimResult) -> &'static str {
    match r {
        DkimResult::Pass => "pass",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::Fail(_) => "fail",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    }
}

pub(crate) fn dmarc_name(r: &DmarcResult) -> &'static str {
    match r {
        DmarcResult::Pass => "pass",
        DmarcResult::Fail(_) => "fail",
        DmarcResult::TempError(_) => "temperror",
        DmarcResult::PermError(_) => "permerror",
        DmarcResult::None => "none",
    }
}

pub(crate) struct Inputs<'a> {
    pub ip: IpAddr,
    pub envelope_domain: &'a str,
    pub spf: &'a SpfOutput,
    pub dkim: &'a [DkimOutput<'a>],
    pub dmarc: &'a Verdict,
    pub disposition: &'a str,
    pub override_reason: &'a str,
}

pub(crate) fn record(i: Inputs<'_>) -> DmarcRecord {
    let policy = match i.dmarc.output.dmarc_record() {
        None => "",
        Some(_) => match i.dmarc.policy {
            mail_auth::dmarc::Policy::Reject => "reject",
            mail_auth::dmarc::Policy::Quarantine => "quarantine",
            _ => "none",
        },
    };
    let dkim_results = i
        .dkim
        .iter()
        .filter_map(|o| {
            o.signature()
                .map(|s| format!("d={} s={} {}", s.d, s.s, dkim_name(o.result())))
        })
        .collect::<Vec<_>>()
        .join(", ");
    DmarcRecord {
        at: 0,
        source_ip: i.ip.to_string(),
        header_from: i.dmarc.output.domain().to_string(),
        envelope_from: i.envelope_domain.to_string(),
        policy: policy.to_string(),
        dmarc_result: dmarc_name(&i.dmarc.output.result()).to_string(),
        spf_result: spf_name(i.spf.result()).to_string(),
        spf_domain: i.spf.domain().to_string(),
        spf_aligned: *i.dmarc.output.spf_result() == DmarcResult::Pass,
        dkim_results,
        dkim_aligned: *i.dmarc.output.dkim_result() == DmarcResult::Pass,
        disposition: i.disposition.to_string(),
        override_reason: i.override_reason.to_string(),
    }
}
