//! The DNS records that make a hosted domain's services findable, beyond
//! MX/SPF/DKIM/DMARC: MTA-STS (RFC 8461 3.1) and TLS reporting (RFC 8460
//! 3), the host names clients and senders look up (`mta-sts.`,
//! `autoconfig.`, `autodiscover.`), and the RFC 6186 SRV records (with RFC
//! 8314 5.1's `_submissions`), at the standard ports quickstart writes.
//! Quickstart and `tern domain mta-sts` print them from here; the API's
//! `tern_manage::Manager::dns_records` makes the same set from the running
//! configuration (when quickstart moves onto the management layer, this
//! file goes).

use tern_store::MtaSts;

/// One record in zone-file shape: owner name, type, data.
pub struct Record {
    pub name: String,
    pub kind: &'static str,
    pub data: String,
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.name, self.kind, self.data)
    }
}

fn rec(name: String, kind: &'static str, data: String) -> Record {
    Record { name, kind, data }
}

/// `_mta-sts.DOMAIN` TXT with the policy's id (RFC 8461 3.1).
pub fn mta_sts_txt(domain: &str, p: &MtaSts) -> Record {
    rec(
        format!("_mta-sts.{domain}."),
        "TXT",
        format!("\"v=STSv1; id={}\"", p.id),
    )
}

/// Everything beyond MX/SPF/DKIM/DMARC that `domain` needs, served by
/// `hostname`; `sts` is the domain's MTA-STS policy, if it publishes one.
pub fn service_records(domain: &str, hostname: &str, sts: Option<&MtaSts>) -> Vec<Record> {
    let h = format!("{hostname}.");
    let mut out = Vec::new();
    if let Some(p) = sts {
        out.push(mta_sts_txt(domain, p));
    }
    // RFC 8460 3: where sending MTAs report TLS failures.
    out.push(rec(
        format!("_smtp._tls.{domain}."),
        "TXT",
        format!("\"v=TLSRPTv1; rua=mailto:postmaster@{domain}\""),
    ));
    // The names senders and clients ask for, all served by this host's
    // https listener (its certificate must name them too).
    for sub in ["mta-sts", "autoconfig", "autodiscover"] {
        out.push(rec(format!("{sub}.{domain}."), "CNAME", h.clone()));
    }
    // RFC 6186 3.1, RFC 8314 5.1: priority 0, weight 1, port, target.
    for (service, port) in [
        ("_imaps._tcp", 993),
        ("_submissions._tcp", 465),
        ("_submission._tcp", 587),
        ("_pop3s._tcp", 995),
    ] {
        out.push(rec(
            format!("{service}.{domain}."),
            "SRV",
            format!("0 1 {port} {h}"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_records_cover_rfc_6186_8460_and_8461() {
        let p = MtaSts {
            domain: "example.org".into(),
            mode: "enforce".into(),
            max_age: 86400,
            mx: vec![],
            id: "20261130abc".into(),
            updated: 0,
        };
        let text: Vec<String> = service_records("example.org", "mail.example.org", Some(&p))
            .iter()
            .map(|r| r.to_string())
            .collect();
        for want in [
            "_mta-sts.example.org. TXT \"v=STSv1; id=20261130abc\"",
            "_smtp._tls.example.org. TXT \"v=TLSRPTv1; rua=mailto:postmaster@example.org\"",
            "mta-sts.example.org. CNAME mail.example.org.",
            "autoconfig.example.org. CNAME mail.example.org.",
            "autodiscover.example.org. CNAME mail.example.org.",
            "_imaps._tcp.example.org. SRV 0 1 993 mail.example.org.",
            "_submissions._tcp.example.org. SRV 0 1 465 mail.example.org.",
            "_submission._tcp.example.org. SRV 0 1 587 mail.example.org.",
            "_pop3s._tcp.example.org. SRV 0 1 995 mail.example.org.",
        ] {
            assert!(text.iter().any(|t| t == want), "{want} in {text:?}");
        }
        let without = service_records("example.org", "mail.example.org", None);
        assert!(!without.iter().any(|r| r.name.starts_with("_mta-sts")));
    }
}
