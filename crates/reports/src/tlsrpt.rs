//! TLS-RPT reports (RFC 8460): a day's outbound TLS outcomes for one
//! recipient domain, by the policy that applied (sts, tlsa, or none found)
//! with success and failure counts and the failures by result type and MX,
//! as mail-auth's `TlsReport`, written as JSON without empty members.

use std::collections::BTreeMap;

use mail_auth::report::tlsrpt::{
    DateRange, FailureDetails, Policy, PolicyDetails, PolicyType, ResultType, Summary, TlsReport,
};
use tern_store::TlsResult;

/// Who sends the report, and which day it covers.
pub struct Header<'a> {
    pub org_name: &'a str,
    pub contact: &'a str,
    pub report_id: &'a str,
    pub begin: i64,
    pub end: i64,
}

/// The policy type an outcome was recorded under; `None` for deliveries
/// through a relay, which never reached the domain's own MX.
fn policy_type(policy: &str) -> Option<PolicyType> {
    match policy {
        "sts" => Some(PolicyType::Sts),
        "tlsa" => Some(PolicyType::Tlsa),
        "relay" => None,
        _ => Some(PolicyType::NoPolicyFound),
    }
}

/// RFC 8460 4.3: the result types; a plaintext delivery is the MX not
/// offering STARTTLS.
fn result_type(outcome: &str) -> ResultType {
    match outcome {
        "plaintext" | "starttls-not-supported" => ResultType::StartTlsNotSupported,
        "certificate-host-mismatch" => ResultType::CertificateHostMismatch,
        "certificate-expired" => ResultType::CertificateExpired,
        "certificate-not-trusted" => ResultType::CertificateNotTrusted,
        "validation-failure" => ResultType::ValidationFailure,
        "tlsa-invalid" => ResultType::TlsaInvalid,
        "dnssec-invalid" => ResultType::DnssecInvalid,
        "dane-required" => ResultType::DaneRequired,
        "sts-policy-fetch-error" => ResultType::StsPolicyFetchError,
        "sts-policy-invalid" => ResultType::StsPolicyInvalid,
        "sts-webpki-invalid" => ResultType::StsWebpkiInvalid,
        _ => ResultType::Other,
    }
}

fn type_name(p: PolicyType) -> &'static str {
    match p {
        PolicyType::Sts => "sts",
        PolicyType::Tlsa => "tlsa",
        PolicyType::NoPolicyFound => "no-policy-found",
        PolicyType::Other => "other",
    }
}

/// The report on `domain`'s outcomes; `None` when none reached its MX.
pub fn report(h: &Header<'_>, domain: &str, results: &[&TlsResult]) -> Option<TlsReport> {
    #[derive(Default)]
    struct Acc {
        success: u32,
        failure: u32,
        mx: Vec<String>,
        failures: BTreeMap<(String, String), (u32, String)>,
    }
    let mut by_policy: BTreeMap<&'static str, (PolicyType, Acc)> = BTreeMap::new();
    for r in results {
        let Some(t) = policy_type(&r.policy) else {
            continue;
        };
        let (_, acc) = by_policy
            .entry(type_name(t))
            .or_insert_with(|| (t, Acc::default()));
        if !r.mx.is_empty() && !acc.mx.contains(&r.mx) && acc.mx.len() < 100 {
            acc.mx.push(r.mx.clone());
        }
        if r.outcome == "tls" {
            acc.success += 1;
        } else {
            acc.failure += 1;
            let e = acc
                .failures
                .entry((r.outcome.clone(), r.mx.clone()))
                .or_insert_with(|| (0, r.detail.clone()));
            e.0 += 1;
        }
    }
    if by_policy.is_empty() {
        return None;
    }
    let policies = by_policy
        .into_values()
        .map(|(t, acc)| Policy {
            policy: PolicyDetails {
                policy_type: t,
                policy_string: Vec::new(),
                policy_domain: domain.to_string(),
                mx_host: if t == PolicyType::Sts {
                    acc.mx
                } else {
                    Vec::new()
                },
            },
            summary: Summary {
                total_success: acc.success,
                total_failure: acc.failure,
            },
            failure_details: acc
                .failures
                .into_iter()
                .map(|((outcome, mx), (count, detail))| {
                    let mut f = FailureDetails::new(result_type(&outcome));
                    if !mx.is_empty() {
                        f = f.with_receiving_mx_hostname(mx);
                    }
                    f.failed_session_count = count;
                    if !detail.is_empty() {
                        f.additional_information = Some(detail.chars().take(200).collect());
                    }
                    f
                })
                .collect(),
        })
        .collect();
    Some(TlsReport {
        organization_name: Some(h.org_name.to_string()),
        date_range: DateRange::from_timestamps(h.begin, h.end),
        contact_info: Some(h.contact.to_string()),
        report_id: h.report_id.to_string(),
        policies,
    })
}

/// The report as RFC 8460 4.4's JSON. mail-auth writes absent members as
/// `null`, which the format does not have: they are left out.
pub fn json(r: &TlsReport) -> String {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    // The nesting is fixed (report → policies → failure-details), so two
    // levels of loops reach every object; no recursion on input.
    strip_nulls(&mut v);
    if let Some(policies) = v.get_mut("policies").and_then(|p| p.as_array_mut()) {
        for p in policies {
            strip_nulls(p);
            if let Some(pol) = p.get_mut("policy") {
                strip_nulls(pol);
                if let Some(o) = pol.as_object_mut() {
                    for key in ["policy-string", "mx-host"] {
                        if o.get(key)
                            .and_then(|a| a.as_array())
                            .is_some_and(|a| a.is_empty())
                        {
                            o.remove(key);
                        }
                    }
                }
            }
            if let Some(details) = p.get_mut("failure-details").and_then(|d| d.as_array_mut()) {
                for d in details {
                    strip_nulls(d);
                }
            }
        }
    }
    v.to_string()
}

fn strip_nulls(v: &mut serde_json::Value) {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
}
