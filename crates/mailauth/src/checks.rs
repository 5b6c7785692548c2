//! Running the checks for one message and writing the verdicts.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    ArcOutput, AuthenticatedMessage, AuthenticationResults, DkimOutput, IprevOutput,
    MessageAuthenticator, SpfOutput,
};
use tern_common::Config;
use tern_common::config::ChecksConfig;
use tern_store::DmarcRecord;

use crate::body::BodyHash;
use crate::dmarc;
use crate::policy::{self, Disposition};
use crate::report;

/// The DKIM signatures of one message that are verified (the first ones).
pub const MAX_DKIM_SIGNATURES: usize = 10;

/// Checks inbound mail; one per server, shared by every SMTP session.
#[derive(Clone)]
pub struct Checker {
    pub(crate) auth: MessageAuthenticator,
    pub(crate) hostname: String,
    checks: ChecksConfig,
}

/// What the checks found for one message.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The complete `Authentication-Results` field, CRLF-terminated; give
    /// it to [`crate::apply`].
    pub header: String,
    pub disposition: Disposition,
    /// What a DMARC aggregate report needs; `None` when the From domain
    /// publishes no DMARC policy (or the checks were skipped).
    pub report: Option<DmarcRecord>,
    /// The verdicts that do not borrow the message, kept for ARC sealing.
    pub(crate) envelope: Option<Envelope>,
    /// The From domain, when the message provably comes from it (DMARC
    /// pass, or an aligned SPF or DKIM pass for a domain without DMARC);
    /// `None`: the From may be forged.
    pub author: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub ip: IpAddr,
    pub helo: String,
    pub mail_from: String,
    pub spf_helo: Option<SpfOutput>,
    pub spf_mail: SpfOutput,
    pub dmarc: dmarc::Verdict,
    pub iprev: IprevOutput,
}

/// The HELO argument is a domain SPF can check (not an address literal or
/// a bare word), RFC 7208 2.3.
fn helo_is_domain(helo: &str) -> bool {
    !helo.starts_with('[') && helo.contains('.') && helo.parse::<IpAddr>().is_err()
}

impl Checker {
    pub fn new(config: &Config) -> anyhow::Result<Checker> {
        Ok(Checker {
            auth: crate::dns::authenticator(&config.dns).context("inbound checks")?,
            hostname: config.hostname.clone(),
            checks: config.checks.clone(),
        })
    }

    /// The authserv-id of our `Authentication-Results` (the hostname).
    pub fn authserv_id(&self) -> &str {
        &self.hostname
    }

    /// Whether a client skips the checks: one in `checks.trusted_networks`.
    /// Authenticated submission skips them too; the caller knows that.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.checks.is_trusted(ip)
    }

    /// Whether SPF passes for the reverse-path `mail_from` sent from `ip`
    /// (RFC 7208 2.4), on its own, before the message is known: what lets
    /// a sender be told apart at RCPT time. False for the null sender.
    pub async fn spf_mail_from_passes(&self, ip: IpAddr, helo: &str, mail_from: &str) -> bool {
        let Some((_, domain)) = mail_from.rsplit_once('@') else {
            return false;
        };
        let params = SpfParameters::verify_mail_from(ip, helo, &self.hostname, mail_from);
        let out = crate::spf::verify(&self.auth, params, domain).await;
        matches!(out.result(), mail_auth::SpfResult::Pass)
    }

    /// Run iprev, SPF (HELO and MAIL FROM), DKIM (every signature), ARC and
    /// DMARC for a message that arrived on port 25 from `ip`. `mail_from`
    /// is the reverse-path without angle brackets, "" for the null sender.
    ///
    /// All of it takes at most `[checks] time_limit_secs`; a message whose
    /// checks run out of time is handled as a DMARC temperror (deferred by
    /// default), so a slow DNS server cannot hold a session open forever.
    pub async fn check(&self, ip: IpAddr, helo: &str, mail_from: &str, message: &[u8]) -> Outcome {
        let limit = Duration::from_secs(self.checks.time_limit_secs);
        let checks = self.check_unbounded(ip, helo, mail_from, message, None);
        match tokio::time::timeout(limit, checks).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(%ip, helo, mail_from, secs = limit.as_secs(), "inbound checks timed out");
                self.temperror(&format!("checks timed out after {} s", limit.as_secs()))
            }
        }
    }

    /// [`Checker::check`] for a message given as its header section `head`
    /// (the fields, without the empty line) and a body that `open_body`
    /// reads (what follows the empty line): the DKIM and ARC body hashes
    /// are computed as the body is read, on the blocking pool, so a large
    /// message is never whole in memory. Bounded in time the same way.
    pub async fn check_streamed<R, F>(
        &self,
        ip: IpAddr,
        helo: &str,
        mail_from: &str,
        head: &[u8],
        open_body: F,
    ) -> Outcome
    where
        R: std::io::Read,
        F: Fn() -> std::io::Result<R> + Send + 'static,
    {
        let mut message = head.to_vec();
        message.extend_from_slice(b"\r\n");
        let wanted: Vec<BodyHash> = AuthenticatedMessage::parse(&message)
            .map(|m| m.body_hashes)
            .unwrap_or_default();
        let limit = Duration::from_secs(self.checks.time_limit_secs);
        let checks = async {
            let hashes = if wanted.is_empty() {
                Ok(Vec::new())
            } else {
                tokio::task::spawn_blocking(move || crate::body::hashes(&wanted, &open_body))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            };
            match hashes {
                Ok(h) => {
                    self.check_unbounded(ip, helo, mail_from, &message, Some(&h))
                        .await
                }
                Err(e) => {
                    tracing::error!(%ip, error = %e, "inbound checks cannot read the body");
                    self.temperror("the body could not be read")
                }
            }
        };
        match tokio::time::timeout(limit, checks).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(%ip, helo, mail_from, secs = limit.as_secs(), "inbound checks timed out");
                self.temperror(&format!("checks timed out after {} s", limit.as_secs()))
            }
        }
    }

    /// A DMARC temperror outcome (deferred by default).
    fn temperror(&self, reason: &str) -> Outcome {
        Outcome {
            header: format!(
                "Authentication-Results: {};\r\n\tdmarc=temperror reason=\"{reason}\"\r\n",
                self.hostname,
            ),
            disposition: policy::temperror(&self.checks, "").disposition,
            report: None,
            envelope: None,
            author: None,
        }
    }

    /// RFC 7489 6.6.1: a message with several From fields has no single
    /// author domain for DMARC, and RFC 5322 3.6 allows one. tern refuses
    /// it (the RFC's first choice), so no reader is shown an author the
    /// checks did not look at. Fields are counted in every spelling
    /// (`crate::fields`), not as a parser that keeps one would see them.
    fn several_authors(&self, message: &[u8]) -> Option<Outcome> {
        let n = crate::fields::count(message, "from");
        (n > 1).then(|| Outcome {
            header: format!(
                "Authentication-Results: {}; dmarc=permerror reason=\"{n} From fields\"\r\n",
                self.hostname
            ),
            disposition: Disposition::Reject(crate::fields::repeated_reply(n, "From")),
            report: None,
            envelope: None,
            author: None,
        })
    }

    async fn check_unbounded(
        &self,
        ip: IpAddr,
        helo: &str,
        mail_from: &str,
        message: &[u8],
        body_hashes: Option<&[BodyHash]>,
    ) -> Outcome {
        if self.is_trusted(ip) {
            return Outcome {
                header: format!(
                    "Authentication-Results: {}; none (trusted network)\r\n",
                    self.hostname
                ),
                disposition: Disposition::Accept,
                report: None,
                envelope: None,
                author: None,
            };
        }
        if let Some(refused) = self.several_authors(message) {
            return refused;
        }
        let host = self.hostname.as_str();
        let spf = async {
            let spf_helo = if helo_is_domain(helo) {
                let params = SpfParameters::verify_ehlo(ip, helo, host);
                Some(crate::spf::verify(&self.auth, params, helo).await)
            } else {
                None
            };
            // RFC 7208 2.4: with a null reverse-path the identity is
            // postmaster@<HELO>; mail-auth does that for an empty sender.
            let spf_mail = match (&spf_helo, mail_from.is_empty()) {
                (Some(h), true) => h.clone(),
                _ => {
                    let domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
                    let params = SpfParameters::verify_mail_from(ip, helo, host, mail_from);
                    crate::spf::verify(&self.auth, params, domain).await
                }
            };
            (spf_helo, spf_mail)
        };
        let envelope_domain = mail_from
            .rsplit_once('@')
            .map_or(helo, |(_, d)| d)
            .trim_end_matches('.')
            .to_ascii_lowercase();

        let parsed = AuthenticatedMessage::parse(message).map(|mut m| {
            // A streamed body: its hashes were computed as it was read.
            if let Some(given) = body_hashes {
                m.body_hashes = given.to_vec();
            }
            // RFC 6376 6.1: a verifier may limit the signatures it tries;
            // each costs a DNS lookup and a signature check, and a header
            // section holds hundreds.
            m.dkim_headers.truncate(MAX_DKIM_SIGNATURES);
            m
        });
        let empty = AuthenticatedMessage::default();
        let msg = parsed.as_ref().unwrap_or(&empty);
        let dkim = async {
            if parsed.is_some() {
                self.auth.verify_dkim(msg).await
            } else {
                Vec::new()
            }
        };
        let arc = async {
            if parsed.is_some() {
                self.auth.verify_arc(msg).await
            } else {
                ArcOutput::default()
            }
        };
        // The lookups of each check are sequential; the checks need not be.
        let (iprev, (spf_helo, spf_mail), dkim, arc): (_, _, Vec<DkimOutput<'_>>, ArcOutput<'_>) =
            tokio::join!(self.auth.verify_iprev(ip), spf, dkim, arc);
        let dmarc =
            dmarc::evaluate(&self.auth, &msg.from, &envelope_domain, &spf_mail, &dkim).await;
        let author =
            dmarc::authenticated_author(&msg.from, &envelope_domain, &spf_mail, &dkim, &dmarc);

        let env = Envelope {
            ip,
            helo: helo.to_string(),
            mail_from: mail_from.to_string(),
            spf_helo,
            spf_mail,
            dmarc,
            iprev,
        };
        let header = format!(
            "Authentication-Results: {}\r\n",
            results(host, &env, &dkim, &arc, msg.from())
        );

        let decision = policy::decide(&self.checks, &env.dmarc, env.spf_mail.result());
        let report = env.dmarc.output.dmarc_record().is_some().then(|| {
            report::record(report::Inputs {
                ip,
                envelope_domain: &envelope_domain,
                spf: &env.spf_mail,
                dkim: &dkim,
                dmarc: &env.dmarc,
                disposition: decision.disposition.name(),
                override_reason: decision.override_reason,
            })
        });
        tracing::debug!(%ip, helo, mail_from, disposition = decision.disposition.name(), "inbound checks");
        Outcome {
            header,
            disposition: decision.disposition,
            report,
            envelope: Some(env),
            author,
        }
    }
}

/// The verdicts in RFC 8601 form, the field value of our
/// `Authentication-Results`: the authserv-id, then each result on its own
/// folded line.
pub(crate) fn results(
    host: &str,
    env: &Envelope,
    dkim: &[DkimOutput<'_>],
    arc: &ArcOutput<'_>,
    header_from: &str,
) -> String {
    let mut ar = AuthenticationResults::new(host)
        .with_dkim_results(dkim, header_from)
        .with_iprev_result(&env.iprev, env.ip);
    if let Some(h) = &env.spf_helo {
        ar = ar.with_spf_ehlo_result(h, env.ip, &env.helo);
    }
    let mut value = ar
        .with_spf_mailfrom_result(&env.spf_mail, env.ip, &env.mail_from, &env.helo)
        .with_arc_result(arc, env.ip)
        .to_string();
    // RFC 8601 2.7.1: "dkim=none" when the message carries no signature
    // (mail-auth writes nothing for an empty list).
    if dkim.is_empty() {
        value.insert_str(host.len(), ";\r\n\tdkim=none");
    }
    value.push_str(&env.dmarc.clause());
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>(_: &T) {}

    /// The SMTP sessions run on a multi-threaded runtime: the checks must
    /// be a `Send` future and the checker shareable.
    #[test]
    fn futures_are_send() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let cfg = tern_common::config::DnsConfig {
            servers: vec!["127.0.0.1:9".parse().unwrap()],
            timeout_secs: 1,
            ..Default::default()
        };
        let c = Checker {
            auth: crate::dns::authenticator(&cfg).unwrap(),
            hostname: "mx.example".into(),
            checks: ChecksConfig::default(),
        };
        let ip = "192.0.2.1".parse().unwrap();
        let f = c.check(ip, "h.example", "", b"Subject: x\r\n\r\n");
        is_send(&f);
        let o = Outcome {
            header: String::new(),
            disposition: Disposition::Accept,
            report: None,
            envelope: None,
            author: None,
        };
        let key = tern_store::DkimKey {
            domain: String::new(),
            selector: String::new(),
            algorithm: String::new(),
            private_key: Vec::new(),
            public_key: String::new(),
            created: 0,
        };
        let s = c.arc_seal(b"", &o, &key);
        is_send(&s);
        fn sync<T: Send + Sync>() {}
        sync::<Checker>();
        sync::<Outcome>();
    }

    #[test]
    fn helo_identities() {
        assert!(helo_is_domain("mail.example.org"));
        assert!(!helo_is_domain("[192.0.2.1]"));
        assert!(!helo_is_domain("192.0.2.1"));
        assert!(!helo_is_domain("localhost"));
    }
}
