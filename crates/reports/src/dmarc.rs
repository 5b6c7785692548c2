//! DMARC aggregate reports (RFC 7489 7.2): a day's evaluations of mail
//! from one policy domain, counted by identical rows, as mail-auth's
//! `Report`, written in the XML of RFC 7489 Appendix C.
//!
//! mail-auth writes the newer aggregate format (RFC 9990: a namespace, no
//! `pct`, a `testing` flag) that the RFC 7489 schema refuses; every
//! receiver reads the RFC 7489 form, so that is what `xml` writes.

use std::collections::BTreeMap;
use std::fmt::Write;

use mail_auth::report::{
    ActionDisposition, Alignment, DKIMAuthResult, DkimResult, DmarcResult, Identifier,
    PolicyEvaluated, PolicyOverride, PolicyOverrideReason, PolicyPublished, Record, Report, Row,
    SPFAuthResult, SPFDomainScope, SpfResult,
};
use tern_common::xml::escape as esc;
use tern_mailauth::Published;
use tern_store::DmarcRecord;

/// Who sends the report, and which day it covers.
pub struct Header<'a> {
    pub org_name: &'a str,
    pub email: &'a str,
    pub contact: Option<&'a str>,
    pub report_id: &'a str,
    pub begin: i64,
    pub end: i64,
}

/// Override reasons RFC 7489 names; anything else is `other`.
const REASONS: [&str; 6] = [
    "forwarded",
    "sampled_out",
    "trusted_forwarder",
    "mailing_list",
    "local_policy",
    "other",
];

/// The report on `records` (all from domains governed by `policy`).
pub fn report(h: &Header<'_>, policy: &Published, records: &[&DmarcRecord]) -> Report {
    let r = &policy.record;
    let published = PolicyPublished {
        domain: policy.domain.clone(),
        version_published: None,
        adkim: alignment(r.adkim),
        aspf: alignment(r.aspf),
        p: disposition(r.p),
        sp: disposition(r.sp),
        np: mail_auth::report::Disposition::Unspecified,
        testing: false,
        discovery_method: mail_auth::report::Discovery::Unspecified,
        fo: Some(fo(&r.fo).to_string()),
    };
    let mut report = Report::new()
        .with_version(1.0)
        .with_org_name(h.org_name)
        .with_email(h.email)
        .with_report_id(h.report_id)
        .with_date_range_begin(h.begin.max(0) as u64)
        .with_date_range_end(h.end.max(0) as u64)
        .with_policy_published(published);
    if let Some(c) = h.contact {
        report = report.with_extra_contact_info(c);
    }
    // Identical rows are counted once (RFC 7489 7.2.1.1: "the number of
    // matching messages"); BTreeMap keeps the order stable.
    let mut rows: BTreeMap<RowKey, u32> = BTreeMap::new();
    for rec in records {
        *rows.entry(RowKey::of(rec)).or_default() += 1;
    }
    for (key, count) in rows {
        report = report.with_record(key.record(count));
    }
    report
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RowKey {
    source_ip: String,
    header_from: String,
    envelope_from: String,
    disposition: String,
    dkim_aligned: bool,
    spf_aligned: bool,
    dkim_results: String,
    spf_domain: String,
    spf_result: String,
    override_reason: String,
}

impl RowKey {
    fn of(r: &DmarcRecord) -> RowKey {
        RowKey {
            source_ip: r.source_ip.clone(),
            header_from: r.header_from.clone(),
            envelope_from: r.envelope_from.clone(),
            disposition: r.disposition.clone(),
            dkim_aligned: r.dkim_aligned,
            spf_aligned: r.spf_aligned,
            dkim_results: r.dkim_results.clone(),
            spf_domain: r.spf_domain.clone(),
            spf_result: r.spf_result.clone(),
            override_reason: r.override_reason.clone(),
        }
    }

    fn record(&self, count: u32) -> Record {
        let pass = |b: bool| {
            if b {
                DmarcResult::Pass
            } else {
                DmarcResult::Fail
            }
        };
        let mut reason = Vec::new();
        if !self.override_reason.is_empty() {
            reason.push(PolicyOverrideReason {
                type_: PolicyOverride::Other,
                comment: Some(self.override_reason.clone()),
            });
        }
        let mut dkim = Vec::new();
        for part in self.dkim_results.split(", ").filter(|p| !p.is_empty()) {
            if let Some(d) = dkim_result(part) {
                dkim.push(d);
            }
        }
        // With the null sender SPF checked the HELO name (RFC 7208 2.4).
        let scope = if self.spf_domain.eq_ignore_ascii_case(&self.envelope_from) {
            SPFDomainScope::MailFrom
        } else {
            SPFDomainScope::Helo
        };
        Record {
            row: Row {
                source_ip: self.source_ip.parse().ok(),
                count,
                policy_evaluated: PolicyEvaluated {
                    disposition: match self.disposition.as_str() {
                        "reject" => ActionDisposition::Reject,
                        "junk" => ActionDisposition::Quarantine,
                        _ => ActionDisposition::None,
                    },
                    dkim: pass(self.dkim_aligned),
                    spf: pass(self.spf_aligned),
                    reason,
                },
            },
            identifiers: Identifier {
                envelope_to: None,
                envelope_from: self.envelope_from.clone(),
                header_from: self.header_from.clone(),
            },
            auth_results: mail_auth::report::AuthResult {
                dkim,
                spf: vec![SPFAuthResult {
                    domain: if self.spf_domain.is_empty() {
                        self.envelope_from.clone()
                    } else {
                        self.spf_domain.clone()
                    },
                    scope,
                    result: spf_result(&self.spf_result),
                    human_result: None,
                }],
            },
            extensions: Vec::new(),
        }
    }
}

/// `d=example.org s=sel pass`, as `tern_mailauth` records each signature.
fn dkim_result(part: &str) -> Option<DKIMAuthResult> {
    let mut domain = None;
    let mut selector = String::new();
    let mut result = DkimResult::None;
    for word in part.split_whitespace() {
        if let Some(d) = word.strip_prefix("d=") {
            domain = Some(d.to_string());
        } else if let Some(s) = word.strip_prefix("s=") {
            selector = s.to_string();
        } else {
            result = match word {
                "pass" => DkimResult::Pass,
                "fail" => DkimResult::Fail,
                "policy" => DkimResult::Policy,
                "neutral" => DkimResult::Neutral,
                "temperror" => DkimResult::TempError,
                "permerror" => DkimResult::PermError,
                _ => DkimResult::None,
            };
        }
    }
    Some(DKIMAuthResult {
        domain: domain?,
        selector,
        result,
        human_result: None,
    })
}

fn spf_result(s: &str) -> SpfResult {
    match s {
        "pass" => SpfResult::Pass,
        "fail" => SpfResult::Fail,
        "softfail" => SpfResult::SoftFail,
        "neutral" => SpfResult::Neutral,
        "temperror" => SpfResult::TempError,
        "permerror" => SpfResult::PermError,
        _ => SpfResult::None,
    }
}

fn alignment(a: mail_auth::dmarc::Alignment) -> Alignment {
    match a {
        mail_auth::dmarc::Alignment::Strict => Alignment::Strict,
        mail_auth::dmarc::Alignment::Relaxed => Alignment::Relaxed,
    }
}

fn disposition(p: mail_auth::dmarc::Policy) -> mail_auth::report::Disposition {
    use mail_auth::report::Disposition as D;
    match p {
        mail_auth::dmarc::Policy::Reject => D::Reject,
        mail_auth::dmarc::Policy::Quarantine => D::Quarantine,
        _ => D::None,
    }
}

fn fo(f: &mail_auth::dmarc::Report) -> &'static str {
    use mail_auth::dmarc::Report as F;
    match f {
        F::All => "0",
        F::Any => "1",
        F::Dkim => "d",
        F::Spf => "s",
        F::DkimSpf => "d:s",
    }
}

/// The report as RFC 7489 Appendix C's XML; `pct` is the policy's
/// (mail-auth's model, after RFC 9990, has no place for it).
pub fn xml(r: &Report, pct: u8) -> String {
    let mut x = String::with_capacity(512 + r.record.len() * 512);
    let m = &r.report_metadata;
    let p = &r.policy_published;
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n  <version>1.0</version>\n  \
         <report_metadata>\n    <org_name>{}</org_name>\n    <email>{}</email>\n",
        esc(&m.org_name),
        esc(&m.email)
    );
    if let Some(c) = &m.extra_contact_info {
        let _ = writeln!(x, "    <extra_contact_info>{}</extra_contact_info>", esc(c));
    }
    let _ = write!(
        x,
        "    <report_id>{}</report_id>\n    <date_range>\n      <begin>{}</begin>\n      \
         <end>{}</end>\n    </date_range>\n",
        esc(&m.report_id),
        m.date_range.begin,
        m.date_range.end
    );
    for e in &m.error {
        let _ = writeln!(x, "    <error>{}</error>", esc(e));
    }
    let _ = write!(
        x,
        "  </report_metadata>\n  <policy_published>\n    <domain>{}</domain>\n    \
         <adkim>{}</adkim>\n    <aspf>{}</aspf>\n    <p>{}</p>\n    <sp>{}</sp>\n    \
         <pct>{}</pct>\n    <fo>{}</fo>\n  </policy_published>\n",
        esc(&p.domain),
        p.adkim,
        p.aspf,
        p.p,
        p.sp,
        pct,
        esc(p.fo.as_deref().unwrap_or("0"))
    );
    for rec in &r.record {
        let row = &rec.row;
        let ip = row
            .source_ip
            .map(|i| i.to_string())
            .unwrap_or_else(|| "0.0.0.0".into());
        let pe = &row.policy_evaluated;
        let _ = write!(
            x,
            "  <record>\n    <row>\n      <source_ip>{ip}</source_ip>\n      <count>{}</count>\n      \
             <policy_evaluated>\n        <disposition>{}</disposition>\n        <dkim>{}</dkim>\n        \
             <spf>{}</spf>\n",
            row.count,
            match pe.disposition {
                ActionDisposition::Reject => "reject",
                ActionDisposition::Quarantine => "quarantine",
                _ => "none",
            },
            pe.dkim,
            pe.spf
        );
        for reason in &pe.reason {
            let named = reason
                .comment
                .as_deref()
                .filter(|c| REASONS.contains(c) && reason.type_ == PolicyOverride::Other);
            match named {
                Some(t) => {
                    let _ = writeln!(
                        x,
                        "        <reason>\n          <type>{t}</type>\n        </reason>"
                    );
                }
                None => {
                    let _ = write!(
                        x,
                        "        <reason>\n          <type>{}</type>\n",
                        reason.type_
                    );
                    if let Some(c) = &reason.comment {
                        let _ = writeln!(x, "          <comment>{}</comment>", esc(c));
                    }
                    x.push_str("        </reason>\n");
                }
            }
        }
        let id = &rec.identifiers;
        let _ = write!(
            x,
            "      </policy_evaluated>\n    </row>\n    <identifiers>\n"
        );
        if let Some(to) = &id.envelope_to {
            let _ = writeln!(x, "      <envelope_to>{}</envelope_to>", esc(to));
        }
        let _ = write!(
            x,
            "      <envelope_from>{}</envelope_from>\n      <header_from>{}</header_from>\n    \
             </identifiers>\n    <auth_results>\n",
            esc(&id.envelope_from),
            esc(&id.header_from)
        );
        for d in &rec.auth_results.dkim {
            let _ = write!(
                x,
                "      <dkim>\n        <domain>{}</domain>\n",
                esc(&d.domain)
            );
            if !d.selector.is_empty() {
                let _ = writeln!(x, "        <selector>{}</selector>", esc(&d.selector));
            }
            let _ = write!(x, "        <result>{}</result>\n      </dkim>\n", d.result);
        }
        for s in &rec.auth_results.spf {
            let _ = write!(
                x,
                "      <spf>\n        <domain>{}</domain>\n        <scope>{}</scope>\n        \
                 <result>{}</result>\n      </spf>\n",
                esc(&s.domain),
                match s.scope {
                    SPFDomainScope::Helo => "helo",
                    _ => "mfrom",
                },
                s.result
            );
        }
        x.push_str("    </auth_results>\n  </record>\n");
    }
    x.push_str("</feedback>\n");
    x
}
