//! Spam at the end of data (`tern_spam` does the work, the store keeps
//! the models). For mail from the internet:
//!
//! 1. The spam fields a sender wrote (`X-Spam-Status`, …) are removed,
//!    every instance, before anything reads the message.
//! 2. With `[spam] rspamd_url`, after the authentication checks, rspamd's
//!    `/checkv2` judges it: `reject` is a 550, `soft reject` and
//!    `greylist` a 451, `add header` and `rewrite subject` file it into
//!    Junk, `no action` delivers. rspamd down or slow: deliver (a warning
//!    and `tern_spam_rspamd_failures_total`) or 451, as configured. Its
//!    figure goes with the classifier's into each copy's one
//!    `X-Spam-Status` (`deliver.rs`), not into the message for everyone.
//! 3. At delivery, each account's own model — or the global one while the
//!    account's has not learned enough of both kinds — gives the
//!    probability that the message is spam; failed authentication adds to
//!    it; from `junk_threshold` the account's copy goes to Junk. Each copy
//!    carries its account's `X-Spam-Status`, and Sieve's `spamtest` sees
//!    the same figure.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use tern_common::config::{Config, RspamdFailure};
use tern_common::metrics::{Metric, count};
use tern_spam::{Action, Rspamd};

use crate::Shared;
use crate::replies as R;
use crate::spool::Message;
use crate::transaction::Envelope;

/// rspamd's client from `[spam]`, if it has a URL.
pub fn rspamd(config: &Config) -> Option<Rspamd> {
    let s = &config.spam;
    let url = s.rspamd_url.as_deref()?;
    Some(Rspamd::new(
        url,
        s.rspamd_controller_url.as_deref(),
        s.rspamd_password.clone(),
        Duration::from_secs(s.rspamd_timeout_secs),
    ))
}

/// What rspamd said of a message that is delivered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RspamdSaid {
    pub junk: bool,
    pub score: f64,
    pub required: f64,
}

/// Who sent the message, for rspamd's request.
pub struct Sender<'a> {
    pub ip: std::net::IpAddr,
    pub helo: &'a str,
    pub user: Option<&'a str>,
}

/// Ask rspamd about `msg` (when configured, and the message is not too
/// large for it): `Ok(None)` when it was not asked, `Err` the reply that
/// refuses the message.
pub async fn ask_rspamd(
    shared: &Shared,
    from: &Sender<'_>,
    env: &Envelope,
    msg: &Message,
    id: &str,
) -> Result<Option<RspamdSaid>, String> {
    let Some(client) = &shared.rspamd else {
        return Ok(None);
    };
    let cfg = &shared.config.spam;
    if msg.len() > cfg.max_scan_kib.saturating_mul(1024) {
        tracing::info!(queue_id = %id, size = msg.len(), "spam: too large for rspamd; not checked");
        return Ok(None);
    }
    let failed = |e: &dyn std::fmt::Display| {
        count(Metric::RspamdFailures);
        tracing::warn!(queue_id = %id, error = %e, "spam: rspamd could not be asked");
        match cfg.rspamd_failure {
            RspamdFailure::Deliver => Ok(None),
            RspamdFailure::Tempfail => Err(R::SPAM_TEMPFAIL.to_string()),
        }
    };
    let whole = match msg.whole(b"").await {
        Ok(w) => w,
        Err(e) => return failed(&e),
    };
    let req = tern_spam::rspamd::Envelope {
        ip: from.ip.to_string(),
        helo: from.helo,
        from: &env.sender,
        rcpts: env.rcpts.iter().map(|r| r.address.to_string()).collect(),
        user: from.user,
        queue_id: id,
    };
    let verdict = match client.check(&req, Bytes::from(whole.bytes.clone())).await {
        Ok(v) => v,
        Err(e) => return failed(&e),
    };
    drop(whole);
    let (source, said) = ("rspamd", verdict.action.name());
    tracing::info!(queue_id = %id, action = said, score = verdict.score, required = verdict.required, symbols = %verdict.symbols.join(","), "spam: rspamd");
    let name = match verdict.action {
        Action::Reject => "reject",
        Action::SoftReject | Action::Greylist => "defer",
        Action::AddHeader | Action::RewriteSubject => "junk",
        Action::NoAction => "ham",
    };
    count(Metric::SpamVerdicts {
        source,
        verdict: name,
    });
    match verdict.action {
        Action::Reject => Err(R::SPAM_REJECTED.to_string()),
        Action::SoftReject | Action::Greylist => Err(R::SPAM_TEMPFAIL.to_string()),
        a => Ok(Some(RspamdSaid {
            junk: matches!(a, Action::AddHeader | Action::RewriteSubject),
            score: verdict.score,
            required: verdict.required,
        })),
    }
}

/// How much each failed authentication method (SPF, DKIM, DMARC) adds to
/// the classifier's probability.
const AUTH_FAILURE: f64 = 0.1;

/// The failed methods in our Authentication-Results field.
fn auth_failures(results: &str) -> usize {
    ["spf=fail", "spf=softfail", "dkim=fail", "dmarc=fail"]
        .iter()
        .filter(|m| results.contains(*m))
        .count()
}

/// The classifier's probability for each account (absent: no model has
/// learned enough yet). `results` is our Authentication-Results summary.
pub async fn classify(
    shared: &Shared,
    msg: &Message,
    accounts: &[i64],
    results: &str,
    id: &str,
) -> HashMap<i64, f64> {
    let mut out = HashMap::new();
    let cfg = &shared.config.spam;
    if !cfg.classifier || accounts.is_empty() {
        return out;
    }
    let started = std::time::Instant::now();
    // Each account is judged by its own model once that has learned
    // enough, else by the global one; with neither, not at all — and when
    // no account can be judged, the message is not even read.
    let ready = |t: (u64, u64)| tern_spam::ready(t.into(), cfg.min_trained);
    let mut scopes = Vec::with_capacity(accounts.len());
    for &account in accounts {
        match shared.store.spam_totals_of(account).await {
            Ok((own, _)) if ready(own) => scopes.push((account, account, own)),
            Ok((_, global)) if ready(global) => {
                scopes.push((account, tern_store::SPAM_GLOBAL, global))
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(queue_id = %id, error = %e, "spam: cannot read the model"),
        }
    }
    if scopes.is_empty() {
        return out;
    }
    let bytes = match msg.prefix(tern_spam::tokens::MAX_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(queue_id = %id, error = %e, "spam: cannot read the message");
            return out;
        }
    };
    let Ok(tokens) = tokio::task::spawn_blocking(move || tern_spam::tokens(&bytes)).await else {
        return out;
    };
    let failures = auth_failures(results);
    for (account, scope, totals) in scopes {
        let model = match shared.store.spam_model_with(scope, totals, &tokens).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(queue_id = %id, error = %e, "spam: cannot read the model");
                continue;
            }
        };
        let totals = tern_spam::Counts {
            spam: model.totals.0,
            ham: model.totals.1,
        };
        let counts = tokens.iter().filter_map(|t| {
            model
                .tokens
                .get(t)
                .map(|&(spam, ham)| tern_spam::Counts { spam, ham })
        });
        let p = (tern_spam::score(counts, totals) + AUTH_FAILURE * failures as f64).min(1.0);
        let verdict = if p >= cfg.junk_threshold {
            "junk"
        } else if p <= 1.0 - cfg.junk_threshold {
            "ham"
        } else {
            "unsure"
        };
        count(Metric::SpamVerdicts {
            source: "classifier",
            verdict,
        });
        tracing::info!(queue_id = %id, account, probability = p, verdict, "spam: classifier");
        out.insert(account, p);
    }
    tern_common::metrics::Histogram::SpamClassifyDuration.observe(started.elapsed().as_secs_f64());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_methods_are_counted_once_each() {
        assert_eq!(auth_failures("spf=pass dkim=pass dmarc=pass"), 0);
        assert_eq!(auth_failures("spf=softfail dkim=fail dmarc=fail"), 3);
        assert_eq!(auth_failures("spf=none dkim=none dmarc=none"), 0);
    }
}
