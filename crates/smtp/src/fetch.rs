//! The SOURCE/GET fetch worker (docs/source-get.md 6): for every envelope
//! taken by SOURCE, connect to the MX hosts of its reverse-path domain,
//! GET the message, run it through the normal inbound pipeline — an SMTP
//! session in memory replaying the stored envelope, so SPF, DKIM, DMARC,
//! Sieve, the Screener and spam filtering all apply, with the MX it came
//! from as the client — then RELEASE it. The replayed delivery is
//! committed with the key `source-get:<id>`, so a fetch repeated after a
//! crash (between the commit and the envelope marked `stored`) stores
//! nothing twice and is answered "already delivered". Several identifiers of one domain
//! share a connection; at most `PARALLEL` domains are fetched at once, on
//! tasks apart from those that accept connections, so a burst of SOURCE
//! transactions never slows acceptance.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tern_common::config::Config;
use tern_common::gate::Gate;
use tern_common::listener::TlsInfo;
use tern_common::security::Security;
use tern_common::time::now_secs;
use tern_queue::Queue;
use tern_queue::dns::{Dns, RouteError};
use tern_store::{SourceIn, Store};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{NoTls, Peer, Session, Shared};

/// Woken by every SOURCE taken on this node.
pub static WAKE: Notify = Notify::const_new();

/// Reverse-path domains fetched from at once.
const PARALLEL: usize = 4;
/// Envelopes claimed per pass.
const BATCH: i64 = 64;
/// How long a claimed envelope stays this node's.
const LEASE_SECS: i64 = 600;
const CONNECT: Duration = Duration::from_secs(30);
const REPLY: Duration = Duration::from_secs(300);

/// Start the worker for this node (`[source_get] receive`).
pub fn spawn(
    config: Arc<Config>,
    store: Store,
    queue: Queue,
    security: Security,
) -> anyhow::Result<()> {
    let dns = Dns::new(&config.dns)?;
    let tls = tern_queue::tls::opportunistic_config().map_err(anyhow::Error::msg)?;
    let shared = Arc::new(Shared {
        config: config.clone(),
        store,
        queue: Some(queue),
        tarpit: crate::Tarpit::new(config.tarpit.clone()),
        security,
        submission: false,
        checker: Some(tern_mailauth::Checker::new(&config)?),
        filter: crate::sieve::filter(&config),
        rspamd: crate::spam::rspamd(&config),
    });
    let w = Arc::new(Fetcher { shared, dns, tls });
    tokio::spawn(w.run());
    Ok(())
}

struct Fetcher {
    shared: Arc<Shared>,
    dns: Dns,
    tls: Arc<rustls::ClientConfig>,
}

impl Fetcher {
    async fn run(self: Arc<Self>) {
        let mut pruned = std::time::Instant::now();
        loop {
            // Delivery keys outlive every GET that could repeat them.
            if pruned.elapsed() > Duration::from_secs(600) {
                pruned = std::time::Instant::now();
                let cfg = &self.shared.config.source_get;
                let keep = (cfg.fetch_window_secs + cfg.retention_secs + 86_400) as i64;
                if let Err(e) = self
                    .shared
                    .store
                    .delivery_keys_prune(now_secs() - keep)
                    .await
                {
                    tracing::warn!(error = %e, "fetch: cannot prune delivery keys");
                }
            }
            let due = match self.shared.store.source_in_claim(BATCH, LEASE_SECS).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "fetch: cannot read the envelopes to fetch");
                    Vec::new()
                }
            };
            let mut by_domain: std::collections::BTreeMap<String, Vec<SourceIn>> =
                Default::default();
            for e in due {
                let d = e
                    .sender
                    .rsplit_once('@')
                    .map(|(_, d)| d.to_ascii_lowercase())
                    .unwrap_or_default();
                by_domain.entry(d).or_default().push(e);
            }
            let busy = !by_domain.is_empty();
            let mut tasks = tokio::task::JoinSet::new();
            for (domain, group) in by_domain {
                while tasks.len() >= PARALLEL {
                    let _ = tasks.join_next().await;
                }
                let me = self.clone();
                tasks.spawn(async move { me.fetch_domain(&domain, group).await });
            }
            while tasks.join_next().await.is_some() {}
            if !busy {
                let _ = tokio::time::timeout(Duration::from_secs(5), WAKE.notified()).await;
            }
        }
    }

    /// Back off: 1 minute doubling to an hour; past the window, give up
    /// without a bounce (docs/source-get.md 8).
    async fn retry(&self, e: &SourceIn, why: &str) {
        let window = self.shared.config.source_get.fetch_window_secs as i64;
        if now_secs() - e.created > window {
            tracing::info!(from = %e.sender, error = %why, "fetch: given up after the fetch window; nothing delivered");
            let _ = self.shared.store.source_in_remove(e.id).await;
            return;
        }
        let base = self.shared.config.queue.retry_base_secs.max(1) as i64;
        let next = now_secs() + (base << e.attempts.clamp(0, 12)).clamp(base, 3600);
        tracing::info!(from = %e.sender, error = %why, "fetch: will try again");
        let _ = self.shared.store.source_in_retry(e.id, next, why).await;
    }

    async fn fetch_domain(&self, domain: &str, group: Vec<SourceIn>) {
        let hops = match self.dns.route(domain).await {
            Ok(h) => h,
            Err(RouteError::Permanent(_, why)) => {
                for e in &group {
                    tracing::info!(from = %e.sender, error = %why, "fetch: the sender domain has no MX to fetch from; dropped");
                    let _ = self.shared.store.source_in_remove(e.id).await;
                }
                return;
            }
            Err(RouteError::Temporary(why)) => {
                for e in &group {
                    self.retry(e, &why).await;
                }
                return;
            }
        };
        let needs_tls = group.iter().any(|e| e.tls);
        let mut last = String::from("no MX host to try");
        for hop in &hops {
            for ip in &hop.addrs {
                let addr = SocketAddr::new(*ip, self.shared.config.queue.remote_port);
                match self.connect(&hop.host, addr, needs_tls).await {
                    Ok((conn, tls)) => {
                        self.fetch_on(conn, *ip, tls, domain, &group).await;
                        return;
                    }
                    Err(why) => last = format!("{}: {why}", hop.host),
                }
            }
        }
        for e in &group {
            self.retry(e, &last).await;
        }
    }

    /// Greeting, EHLO, STARTTLS when offered (or required).
    async fn connect(
        &self,
        host: &str,
        addr: SocketAddr,
        needs_tls: bool,
    ) -> Result<(Client, Option<TlsInfo>), String> {
        let tcp = tokio::time::timeout(CONNECT, TcpStream::connect(addr))
            .await
            .map_err(|_| "connection timed out".to_string())?
            .map_err(|e| e.to_string())?;
        let mut c = Client::new(Box::new(tcp));
        let greeting = c.reply().await?;
        if greeting.0 != 220 {
            return Err(format!("greeting {}", greeting.1));
        }
        let me = self.shared.config.hostname.clone();
        let ehlo = c.command(&format!("EHLO {me}")).await?;
        if ehlo.0 != 250 {
            return Err(format!("EHLO refused: {}", ehlo.1));
        }
        let offers_tls = ehlo
            .1
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("STARTTLS"));
        if !offers_tls {
            if needs_tls {
                return Err("STARTTLS is needed (the SOURCE came over TLS) and not offered".into());
            }
            return Ok((c, None));
        }
        let r = c.command("STARTTLS").await?;
        if r.0 != 220 {
            return Err(format!("STARTTLS refused: {}", r.1));
        }
        let name =
            rustls_pki_types::ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, c.into_inner())
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let info = TlsInfo {
            version: format!(
                "{:?}",
                tls.get_ref()
                    .1
                    .protocol_version()
                    .unwrap_or(rustls::ProtocolVersion::TLSv1_3)
            ),
            cipher: tls
                .get_ref()
                .1
                .negotiated_cipher_suite()
                .map(|c| format!("{:?}", c.suite()))
                .unwrap_or_default(),
        };
        let mut c = Client::new(Box::new(tls));
        let ehlo = c.command(&format!("EHLO {me}")).await?;
        if ehlo.0 != 250 {
            return Err(format!("EHLO after STARTTLS refused: {}", ehlo.1));
        }
        Ok((c, Some(info)))
    }

    async fn fetch_on(
        &self,
        mut c: Client,
        ip: IpAddr,
        tls: Option<TlsInfo>,
        domain: &str,
        group: &[SourceIn],
    ) {
        for e in group {
            if e.tls && tls.is_none() {
                self.retry(e, "this SOURCE came over TLS; the fetch must use it too")
                    .await;
                continue;
            }
            if e.state != "stored" {
                match self.get(&mut c, e).await {
                    Ok(Some(message)) => {
                        match self.deliver(e, &message, ip, tls.clone(), domain).await {
                            Ok(()) => {
                                if let Err(err) = self.shared.store.source_in_stored(e.id).await {
                                    tracing::error!(error = %err, "fetch: cannot record a delivery");
                                    continue;
                                }
                            }
                            Err(reply) if reply.starts_with('5') => {
                                // Refused by the checks, a filter or policy:
                                // the sender bounces it with this reply.
                                tracing::info!(from = %e.sender, result = %reply, "fetch: the fetched message was refused");
                                let line = reply.replace(['\r', '\n'], " ");
                                match c.command(&format!("REFUSE {} {line}", e.source_id)).await {
                                    Ok(_) => {
                                        let _ = self.shared.store.source_in_remove(e.id).await;
                                    }
                                    Err(why) => {
                                        self.retry(e, &why).await;
                                        return;
                                    }
                                }
                                continue;
                            }
                            Err(reply) => {
                                self.retry(e, &reply).await;
                                continue;
                            }
                        }
                    }
                    Ok(None) => {
                        tracing::info!(from = %e.sender, "fetch: the sender's MX does not know the identifier; dropped");
                        let _ = self.shared.store.source_in_remove(e.id).await;
                        continue;
                    }
                    Err(why) => {
                        self.retry(e, &why).await;
                        // The connection is in an unknown state: stop here.
                        for rest in group.iter().skip_while(|x| x.id != e.id).skip(1) {
                            let _ = self
                                .shared
                                .store
                                .source_in_retry(rest.id, now_secs(), "")
                                .await;
                        }
                        return;
                    }
                }
            }
            match c.command(&format!("RELEASE {}", e.source_id)).await {
                Ok((250, _)) | Ok((550, _)) => {
                    let _ = self.shared.store.source_in_remove(e.id).await;
                }
                Ok((_, text)) => self.retry(e, &format!("RELEASE: {text}")).await,
                Err(why) => {
                    self.retry(e, &why).await;
                    return;
                }
            }
        }
        let _ = c.command("QUIT").await;
    }

    /// GET one message: `None` when the sender does not know the id (550).
    async fn get(&self, c: &mut Client, e: &SourceIn) -> Result<Option<Vec<u8>>, String> {
        let r = c.command(&format!("GET {}", e.source_id)).await?;
        match r.0 {
            354 => {}
            550 => return Ok(None),
            _ => return Err(format!("GET: {} {}", r.0, r.1)),
        }
        let max = self.shared.config.smtp.max_message_size;
        let message = c.data(max).await?;
        let done = c.reply().await?;
        if done.0 != 250 {
            return Err(format!("GET ended with {} {}", done.0, done.1));
        }
        Ok(Some(message))
    }

    /// The normal inbound pipeline: a port-25 session in memory, replaying
    /// the envelope taken at SOURCE with the fetched message, from the MX it
    /// came from. `Err` is the refusing reply.
    async fn deliver(
        &self,
        e: &SourceIn,
        message: &[u8],
        ip: IpAddr,
        tls: Option<TlsInfo>,
        domain: &str,
    ) -> Result<(), String> {
        static NO_TLS: NoTls = NoTls;
        let (client, server) = tokio::io::duplex(64 * 1024);
        let peer = Peer {
            ip,
            tls,
            can_starttls: false,
        };
        let session = Session::with_gate(
            self.shared.clone(),
            server,
            &NO_TLS,
            peer,
            CancellationToken::new(),
            Gate::open("smtp"),
        )
        .fetched_from(domain.to_string(), e.source_id.clone());
        let task = tokio::spawn(session.run());
        let mut c = Client::new(Box::new(client));
        let result = async {
            c.reply().await?;
            let helo = if e.helo.is_empty() {
                "unknown"
            } else {
                &e.helo
            };
            let r = c.command(&format!("EHLO {helo}")).await?;
            if r.0 != 250 {
                return Err(format!("{} {}", r.0, r.1));
            }
            let r = c.command(&format!("MAIL FROM:<{}>", e.sender)).await?;
            if r.0 != 250 {
                return Err(format!("{} {}", r.0, r.1));
            }
            let mut accepted = 0;
            for rcpt in &e.rcpts {
                let r = c.command(&format!("RCPT TO:<{rcpt}>")).await?;
                if r.0 == 250 {
                    accepted += 1;
                } else if r.0 >= 500 {
                    tracing::info!(rcpt = %rcpt, reply = %r.1, "fetch: a recipient is refused now");
                } else {
                    return Err(format!("{} {}", r.0, r.1));
                }
            }
            if accepted == 0 {
                return Err("550 5.1.1 no recipient is accepted any more".into());
            }
            let r = c.command("DATA").await?;
            if r.0 != 354 {
                return Err(format!("{} {}", r.0, r.1));
            }
            c.send(&tern_queue::client::dot_stuff(message)).await?;
            let r = c.reply().await?;
            let _ = c.command("QUIT").await;
            if r.0 == 250 {
                Ok(())
            } else {
                Err(format!("{} {}", r.0, r.1))
            }
        }
        .await;
        drop(c);
        let _ = task.await;
        result
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A minimal SMTP client: commands, replies (multi-line joined by
/// newlines), and a dot-stuffed message read back with the transparency
/// dots removed.
struct Client {
    io: BufReader<Box<dyn Io>>,
}

impl Client {
    fn new(io: Box<dyn Io>) -> Client {
        Client {
            io: BufReader::new(io),
        }
    }

    /// The stream, for STARTTLS (nothing may be buffered: RFC 3207 4.2
    /// forbids pipelining past STARTTLS, and the server said 220 last).
    fn into_inner(self) -> Box<dyn Io> {
        self.io.into_inner()
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        tokio::time::timeout(REPLY, async {
            self.io.get_mut().write_all(bytes).await?;
            self.io.get_mut().flush().await
        })
        .await
        .map_err(|_| "write timed out".to_string())?
        .map_err(|e| e.to_string())
    }

    async fn command(&mut self, line: &str) -> Result<(u16, String), String> {
        self.send(format!("{line}\r\n").as_bytes()).await?;
        self.reply().await
    }

    async fn line(&mut self, max: usize) -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(
            REPLY,
            (&mut self.io)
                .take(max as u64 + 2)
                .read_until(b'\n', &mut buf),
        )
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        if !buf.ends_with(b"\n") {
            return Err("line too long".into());
        }
        buf.truncate(buf.len() - 1);
        if buf.ends_with(b"\r") {
            buf.pop();
        }
        Ok(buf)
    }

    async fn reply(&mut self) -> Result<(u16, String), String> {
        let mut text = Vec::new();
        for _ in 0..100 {
            let l = self.line(2048).await?;
            let s = String::from_utf8_lossy(&l).into_owned();
            let code: u16 = s
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("not a reply: {s}"))?;
            text.push(s.get(4..).unwrap_or("").to_string());
            if s.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, text.join("\n")));
            }
        }
        Err("a reply of too many lines".into())
    }

    /// The message after a 354, up to the line with a single dot.
    async fn data(&mut self, max: u64) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        loop {
            let l = self.line(64 * 1024).await?;
            if l == b"." {
                return Ok(out);
            }
            let content = l.strip_prefix(b".").unwrap_or(&l);
            out.extend_from_slice(content);
            out.extend_from_slice(b"\r\n");
            if out.len() as u64 > max {
                return Err("the message is larger than this server accepts".into());
            }
        }
    }
}
