//! `tern dkim keygen|list`.

use tern_common::Config;
use tern_manage::Scope;
use tern_queue::dkim::{Algorithm, generate, txt_record};
use tern_store::{DkimKey, Store, StoreError};

use crate::cli::DkimCmd;

use crate::{Failure, usage};

fn err(e: StoreError) -> Failure {
    match e {
        StoreError::Other(e) => Failure::Runtime(format!("{e:#}")),
        e => usage(e.to_string()),
    }
}

/// `ed202611`: the algorithm and the month, so keys can be rotated.
pub fn default_selector(algo: Algorithm) -> String {
    let date = tern_common::time::iso8601(tern_common::time::now_secs());
    let prefix = if algo == Algorithm::Ed25519 {
        "ed"
    } else {
        "rsa"
    };
    format!("{prefix}{}{}", &date[0..4], &date[5..7])
}

/// Make and store a key; returns the record name and text.
pub async fn keygen(
    store: &Store,
    domain: &str,
    selector: Option<String>,
    algo: Algorithm,
) -> Result<(String, String), Failure> {
    let selector = selector.unwrap_or_else(|| default_selector(algo));
    let (private_key, public_key) =
        generate(algo).map_err(|e| Failure::Runtime(format!("{e:#}")))?;
    let key = DkimKey {
        domain: domain.to_string(),
        selector: selector.clone(),
        algorithm: algo.name().to_string(),
        private_key,
        public_key: public_key.clone(),
        created: 0,
    };
    store.dkim_key_add(&key).await.map_err(err)?;
    Ok((
        format!("{selector}._domainkey.{domain}."),
        txt_record(algo.name(), &public_key),
    ))
}

/// The keys a new domain gets: RSA-2048, which every verifier knows
/// (large mailbox providers do not verify Ed25519 yet), and Ed25519
/// (RFC 8463), both signing every message. Returns each record to publish.
pub async fn keygen_defaults(
    store: &Store,
    domain: &str,
) -> Result<Vec<(String, String)>, Failure> {
    let mut records = Vec::new();
    for algo in [Algorithm::Rsa, Algorithm::Ed25519] {
        records.push(keygen(store, domain, None, algo).await?);
    }
    Ok(records)
}

/// A TXT record's text as zone-file strings of at most 255 octets each.
pub fn zone_strings(text: &str) -> String {
    text.as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn run(config: &Config, cmd: DkimCmd) -> Result<(), Failure> {
    let m = crate::admin::manager(config).await?;
    match cmd {
        DkimCmd::Keygen {
            domain,
            selector,
            algo,
        } => {
            let r = m
                .dkim_generate(&Scope::Admin, &domain, selector.as_deref(), &algo)
                .await
                .map_err(crate::admin::fail)?;
            println!("DKIM key stored; publish this record:");
            println!("{}", r.zone_line());
        }
        DkimCmd::List { domain } => {
            let keys = m
                .dkim_list(&Scope::Admin, domain.as_deref())
                .await
                .map_err(crate::admin::fail)?;
            for k in keys {
                println!(
                    "{}\t{}\t{}\t{}",
                    k.domain,
                    k.selector,
                    k.algorithm,
                    k.record.zone_line()
                );
            }
        }
    }
    Ok(())
}
