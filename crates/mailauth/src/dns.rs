//! The resolver every check asks: the `[dns] servers`, or the system's.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::hickory_resolver::net::runtime::TokioRuntimeProvider;
use mail_auth::hickory_resolver::{Resolver, TokioResolver};
use tern_common::config::DnsConfig;

/// A `MessageAuthenticator` on the configured resolver.
pub fn authenticator(cfg: &DnsConfig) -> anyhow::Result<MessageAuthenticator> {
    Ok(MessageAuthenticator(resolver(cfg)?))
}

fn resolver(cfg: &DnsConfig) -> anyhow::Result<TokioResolver> {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(cfg.timeout_secs);
    opts.attempts = 2;
    // Names are always absolute: never append a search domain.
    opts.ndots = 0;
    if cfg.servers.is_empty() {
        let mut b =
            Resolver::builder_tokio().context("reading the system resolver configuration")?;
        *b.options_mut() = opts;
        return b.build().context("starting the DNS resolver");
    }
    let mut config = ResolverConfig::default();
    for s in &cfg.servers {
        config.add_name_server(name_server(*s));
    }
    let mut b = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    *b.options_mut() = opts;
    b.build().context("starting the DNS resolver")
}

fn name_server(addr: SocketAddr) -> NameServerConfig {
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
}

/// How many SPF records `domain` publishes. RFC 7208 4.5: more than one is
/// a permanent error, which mail-auth does not report itself (it takes
/// the first); 0 also when the lookup fails (SPF reports that on its own).
pub(crate) async fn spf_records(auth: &MessageAuthenticator, domain: &str) -> usize {
    let name = format!("{}.", domain.trim_end_matches('.'));
    let Ok(txt) = auth.0.txt_lookup(name).await else {
        return 0;
    };
    txt.answers()
        .iter()
        .filter(|r| match &r.data {
            mail_auth::hickory_resolver::proto::rr::RData::TXT(t) => {
                let text: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
                // RFC 7208 4.5: "v=spf1" followed by a space or the end.
                text.len() >= 6
                    && text[..6].eq_ignore_ascii_case(b"v=spf1")
                    && text.get(6).is_none_or(|c| *c == b' ')
            }
            _ => false,
        })
        .count()
}
