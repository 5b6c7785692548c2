//! One ACME order (RFC 8555 7.4), from account to certificate chain: the
//! account from the store (made once per CA directory), the order resumed
//! from the store if one was left pending or ready by a crash, each
//! authorization answered by the configured challenge (RFC 8737
//! tls-alpn-01, RFC 8555 8.3 http-01), a CSR with a fresh key, the chain.
//!
//! The rule: an order is only resumed while it still needs nothing tern
//! may have lost (pending or ready); one finalized before a crash has a
//! key that died with the process, so a new order replaces it.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, ChallengeStatus, ChallengeType,
    Identifier, NewAccount, NewOrder, Order, OrderStatus, RetryPolicy,
};
use rustls::pki_types::CertificateDer;
use tern_common::challenge::{Challenges, alpn_cert};
use tern_common::config::{AcmeChallenge, AcmeConfig};
use tern_store::Store;

/// How long the CA has to validate and to issue, each.
const CA_PATIENCE: Duration = Duration::from_secs(120);
/// The longest one order may take, from account to chain.
const ORDER_LIMIT: Duration = Duration::from_secs(600);
/// How long a challenge's answer stays in the store.
const ANSWER_TTL_SECS: i64 = 3600;

/// Where the store keeps a tls-alpn-01 digest (`StoreLookup` reads it).
pub fn alpn_key(name: &str) -> String {
    format!("tls-alpn-01:{}", name.to_ascii_lowercase())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What an order brings home.
pub struct Obtained {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Ctx<'a> {
    pub store: &'a Store,
    pub acme: &'a AcmeConfig,
    pub challenges: &'a Challenges,
}

/// Obtain a certificate for `names` (stored under `key`), within
/// `ORDER_LIMIT` whatever the CA does.
/// `replaces`: the certificate being renewed because the CA's renewal
/// window said so (RFC 9773 5), named in the new order.
pub async fn obtain(
    ctx: &Ctx<'_>,
    key: &str,
    names: &[String],
    replaces: Option<&str>,
) -> anyhow::Result<Obtained> {
    match tokio::time::timeout(ORDER_LIMIT, obtain_once(ctx, key, names, replaces)).await {
        Ok(r) => r,
        Err(_) => {
            let _ = ctx.store.acme_cert_order(key, None).await;
            bail!("the CA did not finish within {ORDER_LIMIT:?}")
        }
    }
}

async fn obtain_once(
    ctx: &Ctx<'_>,
    key: &str,
    names: &[String],
    replaces: Option<&str>,
) -> anyhow::Result<Obtained> {
    let acc = account(ctx).await?;
    let mut order = match open_order(ctx, &acc, key, names, replaces).await {
        // RFC 8555 7.3.1: the CA no longer knows the stored account (a
        // test CA restarted, an account deactivated elsewhere): make a
        // new one, once.
        Err(e) if unknown_account(&e) => {
            tracing::warn!("acme: the CA does not know the stored account; making a new one");
            ctx.store.acme_account_remove(&ctx.acme.directory).await?;
            let acc = account(ctx).await?;
            open_order(ctx, &acc, key, names, None).await?
        }
        r => r?,
    };
    let mut answered = Answered::default();
    let outcome = authorize_and_finalize(ctx, &mut order, names, &mut answered).await;
    answered.withdraw(ctx).await;
    if outcome.is_err() {
        // The next attempt starts a new order: this one may be invalid now.
        let _ = ctx.store.acme_cert_order(key, None).await;
    }
    outcome
}

async fn authorize_and_finalize(
    ctx: &Ctx<'_>,
    order: &mut Order,
    names: &[String],
    answered: &mut Answered,
) -> anyhow::Result<Obtained> {
    if order.state().status == OrderStatus::Pending {
        answer_all(ctx, order, answered).await?;
    }
    let retry = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .timeout(CA_PATIENCE);
    let status = order
        .poll_ready(&retry)
        .await
        .context("waiting for validation")?;
    if status != OrderStatus::Ready {
        bail!("order is {status:?}: {}", why_invalid(order).await);
    }
    let (key_pem, csr) = csr(names)?;
    order
        .finalize_csr(&csr)
        .await
        .context("finalizing the order")?;
    let cert_pem = order
        .poll_certificate(&retry)
        .await
        .context("waiting for the certificate")?;
    Ok(Obtained { cert_pem, key_pem })
}

/// The first certificate of a PEM chain, as DER.
fn leaf_der(chain_pem: &str) -> Option<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()?
        .ok()
}

/// The renewal window the CA suggests for a certificate (RFC 9773 4.2),
/// as seconds, and when to ask again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
    pub ask_again: Duration,
}

/// RFC 9773: the CA's renewal window for the leaf of `cert_pem`; `None`
/// when the CA offers no renewal information.
pub async fn renewal_window(ctx: &Ctx<'_>, cert_pem: &str) -> anyhow::Result<Option<Window>> {
    let Some(der) = leaf_der(cert_pem) else {
        bail!("the stored chain holds no certificate");
    };
    let id = CertificateIdentifier::try_from(&der).map_err(|e| anyhow::anyhow!(e))?;
    let acc = account(ctx).await?;
    match acc.renewal_info(&id).await {
        Ok((info, ask_again)) => Ok(Some(Window {
            start: info.suggested_window.start.unix_timestamp(),
            end: info.suggested_window.end.unix_timestamp(),
            ask_again,
        })),
        Err(instant_acme::Error::Unsupported(_)) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context("asking the CA for its renewal window")),
    }
}

/// The account at the configured CA: from the store, or made and stored.
async fn account(ctx: &Ctx<'_>) -> anyhow::Result<Account> {
    let dir = &ctx.acme.directory;
    let builder = || match &ctx.acme.ca_root {
        Some(root) => Account::builder_with_root(root),
        None => Account::builder(),
    };
    if let Some(creds) = ctx.store.acme_account_get(dir).await? {
        let creds = serde_json::from_str(&creds).context("stored ACME account")?;
        return Ok(builder()?.from_credentials(creds).await?);
    }
    let contact: Vec<&str> = ctx.acme.contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contact,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, creds) = builder()?
        .create(&new, dir.clone(), None)
        .await
        .with_context(|| format!("creating an account at {dir}"))?;
    let mine = serde_json::to_string(&creds)?;
    let kept = ctx.store.acme_account_put(dir, &mine).await?;
    if kept == mine {
        tracing::info!(directory = %dir, id = account.id(), "acme account created");
        return Ok(account);
    }
    // Another node stored its account first: use that one.
    Ok(builder()?
        .from_credentials(serde_json::from_str(&kept)?)
        .await?)
}

/// RFC 8555 6.7: the CA refused for its rate limits.
pub fn rate_limited(e: &anyhow::Error) -> bool {
    problem_type(e) == Some("urn:ietf:params:acme:error:rateLimited")
}

fn problem_type(e: &anyhow::Error) -> Option<&str> {
    e.chain()
        .find_map(|c| match c.downcast_ref::<instant_acme::Error>() {
            Some(instant_acme::Error::Api(p)) => p.r#type.as_deref(),
            _ => None,
        })
}

fn unknown_account(e: &anyhow::Error) -> bool {
    problem_type(e) == Some("urn:ietf:params:acme:error:accountDoesNotExist")
}

/// The order left pending or ready by an earlier attempt, else a new one.
async fn open_order(
    ctx: &Ctx<'_>,
    account: &Account,
    key: &str,
    names: &[String],
    replaces: Option<&str>,
) -> anyhow::Result<Order> {
    let left = ctx
        .store
        .acme_cert_get(key)
        .await?
        .and_then(|r| r.order_url);
    if let Some(url) = left {
        if let Ok(mut o) = account.order(url.clone()).await
            && matches!(o.state().status, OrderStatus::Pending | OrderStatus::Ready)
        {
            tracing::info!(order = %url, "acme order resumed");
            return Ok(o);
        }
        tracing::info!(order = %url, "acme order left over is done with");
    }
    let ids: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let leaf = replaces.and_then(leaf_der);
    let id = leaf
        .as_ref()
        .and_then(|der| CertificateIdentifier::try_from(der).ok());
    let order = match id {
        // RFC 9773 5: the order names the certificate it replaces.
        Some(id) => match account.new_order(&NewOrder::new(&ids).replaces(id)).await {
            Ok(o) => o,
            // A CA must echo `replaces` (RFC 9773 5); one that offers
            // renewal information but does not gets a plain order.
            Err(instant_acme::Error::Other(m))
                if m.to_string().starts_with("replaces field mismatch") =>
            {
                tracing::warn!(
                    "acme: the CA did not carry `replaces` (RFC 9773 5); ordering without it"
                );
                account
                    .new_order(&NewOrder::new(&ids))
                    .await
                    .context("new order")?
            }
            Err(e) => return Err(anyhow::Error::new(e).context("new order")),
        },
        None => account
            .new_order(&NewOrder::new(&ids))
            .await
            .context("new order")?,
    };
    ctx.store.acme_cert_order(key, Some(order.url())).await?;
    tracing::info!(order = order.url(), names = %key, "acme order placed");
    Ok(order)
}

/// The answers put up, to take down when the order is over.
#[derive(Default)]
struct Answered {
    alpn: Vec<String>,
    http: Vec<String>,
}

impl Answered {
    async fn withdraw(self, ctx: &Ctx<'_>) {
        for name in &self.alpn {
            ctx.challenges.remove_alpn(name);
            let _ = ctx.store.acme_answer_remove(&alpn_key(name)).await;
        }
        for token in &self.http {
            ctx.challenges.remove_http(token);
            let _ = ctx
                .store
                .acme_answer_remove(&format!("http-01:{token}"))
                .await;
        }
    }
}

async fn answer_all(
    ctx: &Ctx<'_>,
    order: &mut Order,
    answered: &mut Answered,
) -> anyhow::Result<()> {
    let kind = match ctx.acme.challenge {
        AcmeChallenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
        AcmeChallenge::Http01 => ChallengeType::Http01,
    };
    let mut auths = order.authorizations();
    while let Some(auth) = auths.next().await {
        let mut auth = auth?;
        match auth.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => bail!("authorization is {other:?}"),
        }
        let mut ch = auth
            .challenge(kind.clone())
            .ok_or_else(|| anyhow!("the CA offers no {}", ctx.acme.challenge.name()))?;
        let name = ch.identifier().to_string();
        let ka = ch.key_authorization();
        match ctx.acme.challenge {
            AcmeChallenge::TlsAlpn01 => {
                let digest = ka.digest();
                ctx.challenges
                    .put_alpn(&name, alpn_cert(&name, digest.as_ref())?);
                // For the other nodes, should the CA ask one of them.
                ctx.store
                    .acme_answer_put(&alpn_key(&name), &hex(digest.as_ref()), ANSWER_TTL_SECS)
                    .await?;
                answered.alpn.push(name.clone());
            }
            AcmeChallenge::Http01 => {
                let token = ch.token.clone();
                ctx.challenges.put_http(&token, ka.as_str());
                ctx.store
                    .acme_answer_put(&format!("http-01:{token}"), ka.as_str(), ANSWER_TTL_SECS)
                    .await?;
                answered.http.push(token);
            }
        }
        // A resumed order may have asked already: the CA is validating,
        // and asking again is an error (RFC 8555 7.5.1).
        if ch.status == ChallengeStatus::Pending {
            ch.set_ready().await?;
        }
        tracing::info!(name = %name, challenge = ctx.acme.challenge.name(), "acme challenge ready");
    }
    Ok(())
}

/// What the CA said about a failed authorization.
async fn why_invalid(order: &mut Order) -> String {
    if let Some(e) = &order.state().error {
        return e.to_string();
    }
    let mut out = Vec::new();
    let mut auths = order.authorizations();
    while let Some(Ok(mut auth)) = auths.next().await {
        let Ok(state) = auth.refresh().await else {
            continue;
        };
        for c in &state.challenges {
            if let Some(e) = &c.error {
                out.push(e.to_string());
            }
        }
    }
    if out.is_empty() {
        "no reason given".into()
    } else {
        out.join("; ")
    }
}

/// A fresh key (ECDSA P-256) and a CSR naming `names` (RFC 8555 7.4: the
/// names are the order's identifiers; the subject is left empty).
fn csr(names: &[String]) -> anyhow::Result<(String, Vec<u8>)> {
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let pair = rcgen::KeyPair::generate()?;
    let csr = params.serialize_request(&pair)?;
    Ok((pair.serialize_pem(), csr.der().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: &str) -> anyhow::Error {
        let p: instant_acme::Problem =
            serde_json::from_str(&format!(r#"{{"type": "{kind}", "status": 429}}"#)).unwrap();
        anyhow::Error::new(instant_acme::Error::Api(p)).context("new order")
    }

    #[test]
    fn problem_types_are_read_through_the_context() {
        let rl = problem("urn:ietf:params:acme:error:rateLimited");
        assert!(rate_limited(&rl) && !unknown_account(&rl));
        let gone = problem("urn:ietf:params:acme:error:accountDoesNotExist");
        assert!(unknown_account(&gone) && !rate_limited(&gone));
        assert!(!rate_limited(&anyhow::anyhow!("connection refused")));
    }
}
