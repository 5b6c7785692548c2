//! The SMTP client of the outbound queue: one transaction to one host,
//! with EHLO, STARTTLS, PIPELINING (RFC 2920), SIZE, 8BITMIME, SMTPUTF8,
//! DSN parameters and REQUIRETLS, exact dot-stuffing and the time-outs of
//! RFC 5321 4.5.3.2.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::tls::{self, TlsPolicy};

// RFC 5321 4.5.3.2 time-outs.
const CONNECT: Duration = Duration::from_secs(30);
const GREETING: Duration = Duration::from_secs(300);
const COMMAND: Duration = Duration::from_secs(300);
const DATA_INIT: Duration = Duration::from_secs(120);
const DATA_BLOCK: Duration = Duration::from_secs(180);
const DATA_END: Duration = Duration::from_secs(600);
/// Longest reply we read (lines and continuation lines together).
const MAX_REPLY: usize = 64 * 1024;

/// A recipient as the client sends it.
#[derive(Debug, Clone)]
pub struct Rcpt {
    pub address: String,
    pub notify: String,
    pub orcpt: Option<String>,
}

/// The envelope of one transaction.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub sender: String,
    pub rcpts: Vec<Rcpt>,
    pub envid: Option<String>,
    pub ret: Option<String>,
    pub requiretls: bool,
    /// Send `SOURCE <id>` instead of the data when the host offers it
    /// (docs/source-get.md 4).
    pub source: Option<String>,
}

/// A server reply: code and text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// Why a transaction as a whole did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxError {
    /// Could not talk to this host at all: try the next one.
    Connect(String),
    /// The TLS handshake failed: try the next host.
    TlsFailed(String),
    /// TLS is required and the host does not offer it (or refused it).
    TlsUnavailable(String),
    /// The host refused the transaction temporarily.
    Temporary(String),
    /// The host refused the transaction permanently (e.g. 5xx to MAIL).
    Permanent(String),
}

/// What the host said per recipient, and how TLS went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub rcpts: Vec<Result<Reply, Reply>>,
    /// The final reply to the data, when any recipient was accepted.
    pub data: Option<Reply>,
    pub tls: Option<String>,
    /// The data went as `SOURCE <id>`: the reply is the receiver's promise
    /// to fetch it.
    pub sourced: bool,
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

struct Session {
    io: BufReader<Conn>,
}

impl Session {
    async fn reply(&mut self, limit: Duration) -> Result<Reply, String> {
        timeout(limit, self.read_reply())
            .await
            .map_err(|_| "timed out waiting for the server".to_string())?
    }

    async fn read_reply(&mut self) -> Result<Reply, String> {
        let mut text = Vec::new();
        let mut total = 0usize;
        loop {
            let mut line = Vec::new();
            let n = tokio::io::AsyncReadExt::take(&mut self.io, (MAX_REPLY - total) as u64 + 1)
                .read_until(b'\n', &mut line)
                .await
                .map_err(|e| format!("reading the reply: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            total += n;
            if total > MAX_REPLY {
                return Err("the server's reply is too long".into());
            }
            let s = String::from_utf8_lossy(&line);
            let s = s.trim_end_matches(['\r', '\n']);
            if s.len() < 3 || !s.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                return Err(format!("malformed reply line {s:?}"));
            }
            let code: u16 = s[..3]
                .parse()
                .map_err(|_| format!("malformed reply {s:?}"))?;
            let more = s.as_bytes().get(3) == Some(&b'-');
            text.push(s.get(4..).unwrap_or("").to_string());
            if !more {
                return Ok(Reply {
                    code,
                    text: text.join(" / "),
                });
            }
        }
    }

    async fn send(&mut self, bytes: &[u8], limit: Duration) -> Result<(), String> {
        let w = self.io.get_mut();
        timeout(limit, async {
            w.write_all(bytes).await?;
            w.flush().await
        })
        .await
        .map_err(|_| "timed out writing to the server".to_string())?
        .map_err(|e| format!("writing to the server: {e}"))
    }

    async fn command(&mut self, line: &str, limit: Duration) -> Result<Reply, String> {
        self.send(format!("{line}\r\n").as_bytes(), COMMAND).await?;
        self.reply(limit).await
    }
}

/// The extensions a server announced in its EHLO reply.
#[derive(Debug, Default, Clone)]
struct Extensions {
    starttls: bool,
    pipelining: bool,
    eightbit: bool,
    smtputf8: bool,
    dsn: bool,
    requiretls: bool,
    source: bool,
    size: Option<u64>,
}

fn parse_ehlo(r: &Reply) -> Extensions {
    let mut e = Extensions::default();
    for kw in r.text.split(" / ").skip(1) {
        let mut parts = kw.split_whitespace();
        match parts.next().map(|k| k.to_ascii_uppercase()).as_deref() {
            Some("STARTTLS") => e.starttls = true,
            Some("PIPELINING") => e.pipelining = true,
            Some("8BITMIME") => e.eightbit = true,
            Some("SMTPUTF8") => e.smtputf8 = true,
            Some("DSN") => e.dsn = true,
            Some("REQUIRETLS") => e.requiretls = true,
            Some("SOURCE") => e.source = true,
            Some("SIZE") => e.size = parts.next().and_then(|s| s.parse().ok()).filter(|s| *s > 0),
            _ => {}
        }
    }
    e
}

/// RFC 5321 4.5.2: a line that starts with "." gets another; the data ends
/// with CRLF.CRLF. Bare LF in stored messages is sent as CRLF.
pub fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 5);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in data {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn needs_smtputf8(env: &Envelope) -> bool {
    !env.sender.is_ascii() || env.rcpts.iter().any(|r| !r.address.is_ascii())
}

/// xtext (RFC 3461 4): '+', '=' and anything outside 33..=126 as +HH.
fn xtext(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            o.push(b as char);
        } else {
            o.push_str(&format!("+{b:02X}"));
        }
    }
    o
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// The host's name (for TLS and logs).
    pub host: String,
    /// Our name in EHLO.
    pub ehlo_name: String,
    pub policy: TlsPolicy,
    /// Credentials for a smarthost (AUTH PLAIN, only ever over TLS).
    pub auth: Option<(String, String)>,
    /// The authenticating configuration, for `TlsPolicy::Verified`.
    pub verified: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// The host's usable TLSA records, for `TlsPolicy::Dane`.
    pub tlsa: Vec<crate::dane::Tlsa>,
}

/// Run one transaction with the host at `t.addr`.
pub async fn transact(t: &Target, env: &Envelope, data: &[u8]) -> Result<Outcome, TxError> {
    let (addr, host, ehlo_name, policy) = (t.addr, t.host.as_str(), t.ehlo_name.as_str(), t.policy);
    let tcp = timeout(CONNECT, TcpStream::connect(addr))
        .await
        .map_err(|_| TxError::Connect(format!("connecting to {host} [{addr}] timed out")))?
        .map_err(|e| TxError::Connect(format!("connecting to {host} [{addr}]: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let mut s = Session {
        io: BufReader::new(Conn::Plain(tcp)),
    };
    let conn_err = |e: String| TxError::Connect(format!("{host} [{addr}]: {e}"));
    let greeting = s.reply(GREETING).await.map_err(conn_err)?;
    if !greeting.is_ok() {
        return Err(TxError::Connect(format!("{host} greeted with {greeting}")));
    }
    let mut ehlo = s
        .command(&format!("EHLO {ehlo_name}"), COMMAND)
        .await
        .map_err(conn_err)?;
    if !ehlo.is_ok() {
        return Err(TxError::Connect(format!("{host} refused EHLO: {ehlo}")));
    }
    let mut ext = parse_ehlo(&ehlo);
    let mut tls_desc = None;
    if ext.starttls && policy != TlsPolicy::Plain {
        let r = s.command("STARTTLS", COMMAND).await.map_err(conn_err)?;
        if r.is_ok() {
            // RFC 3207 4.2: nothing buffered before the handshake counts.
            let Conn::Plain(tcp) = s.io.into_inner() else {
                return Err(TxError::Connect("TLS twice".into()));
            };
            let config = match (policy, &t.verified) {
                (TlsPolicy::Verified, Some(v)) => v.clone(),
                (TlsPolicy::Verified, None) => {
                    return Err(TxError::TlsFailed(format!(
                        "{host}: no trust anchors for verified TLS"
                    )));
                }
                (TlsPolicy::Dane, _) => {
                    crate::dane::client_config(&t.tlsa).map_err(TxError::TlsFailed)?
                }
                _ => tls::opportunistic_config().map_err(TxError::TlsFailed)?,
            };
            let tls = tls::connect(tcp, host, config)
                .await
                .map_err(|e| TxError::TlsFailed(format!("{host}: {e}")))?;
            tls_desc = Some(tls::describe(&tls));
            s = Session {
                io: BufReader::new(Conn::Tls(Box::new(tls))),
            };
            ehlo = s
                .command(&format!("EHLO {ehlo_name}"), COMMAND)
                .await
                .map_err(conn_err)?;
            if !ehlo.is_ok() {
                return Err(TxError::Connect(format!(
                    "{host} refused EHLO after STARTTLS: {ehlo}"
                )));
            }
            ext = parse_ehlo(&ehlo);
        } else if policy.requires_tls() {
            return Err(TxError::TlsUnavailable(format!(
                "{host} refused STARTTLS: {r}"
            )));
        }
    }
    if tls_desc.is_none() && policy.requires_tls() {
        let _ = s.command("QUIT", COMMAND).await;
        return Err(TxError::TlsUnavailable(format!(
            "{host} does not offer STARTTLS and TLS is required"
        )));
    }
    if let Some((user, pass)) = &t.auth {
        if tls_desc.is_none() {
            let _ = s.command("QUIT", COMMAND).await;
            return Err(TxError::Temporary(format!(
                "{host}: not sending credentials without TLS"
            )));
        }
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
        let r = s
            .command(&format!("AUTH PLAIN {token}"), COMMAND)
            .await
            .map_err(conn_err)?;
        if !r.is_ok() {
            let _ = s.command("QUIT", COMMAND).await;
            let msg = format!("{host} refused our credentials: {r}");
            return Err(if r.is_permanent() {
                TxError::Permanent(msg)
            } else {
                TxError::Temporary(msg)
            });
        }
    }
    if env.requiretls && !ext.requiretls {
        let _ = s.command("QUIT", COMMAND).await;
        return Err(TxError::Permanent(format!(
            "5.7.30 REQUIRETLS is needed and {host} does not support it"
        )));
    }
    if needs_smtputf8(env) && !ext.smtputf8 {
        let _ = s.command("QUIT", COMMAND).await;
        return Err(TxError::Permanent(format!(
            "5.6.7 the addresses need SMTPUTF8 and {host} does not support it"
        )));
    }
    if let Some(max) = ext.size
        && data.len() as u64 > max
    {
        let _ = s.command("QUIT", COMMAND).await;
        return Err(TxError::Permanent(format!(
            "5.3.4 the message is larger than {host} accepts ({max} octets)"
        )));
    }

    let mut mail = format!("MAIL FROM:<{}>", env.sender);
    if ext.size.is_some() {
        mail.push_str(&format!(" SIZE={}", data.len()));
    }
    if ext.eightbit && !data.is_ascii() {
        mail.push_str(" BODY=8BITMIME");
    }
    if needs_smtputf8(env) {
        mail.push_str(" SMTPUTF8");
    }
    if ext.dsn {
        if let Some(r) = &env.ret {
            mail.push_str(&format!(" RET={r}"));
        }
        if let Some(e) = &env.envid {
            mail.push_str(&format!(" ENVID={}", xtext(e)));
        }
    }
    if env.requiretls {
        mail.push_str(" REQUIRETLS");
    }
    let rcpt_lines: Vec<String> = env
        .rcpts
        .iter()
        .map(|r| {
            let mut l = format!("RCPT TO:<{}>", r.address);
            if ext.dsn {
                if !r.notify.is_empty() {
                    l.push_str(&format!(" NOTIFY={}", r.notify));
                }
                if let Some(o) = &r.orcpt {
                    l.push_str(&format!(" ORCPT={o}"));
                }
            }
            l
        })
        .collect();

    // docs/source-get.md 4.1: only when offered, and under REQUIRETLS only
    // over TLS (the fetch then uses TLS too).
    let source = env
        .source
        .as_deref()
        .filter(|_| ext.source && (!env.requiretls || tls_desc.is_some()));
    let data_cmd = match source {
        Some(id) => format!("SOURCE {id}"),
        None => "DATA".to_string(),
    };
    let io_err = |e: String| TxError::Temporary(format!("{host}: {e}"));
    let (mail_reply, rcpt_replies, data_reply) = if ext.pipelining {
        // RFC 2920 3.1: MAIL, every RCPT and DATA in one write.
        let mut batch = format!("{mail}\r\n");
        for l in &rcpt_lines {
            batch.push_str(l);
            batch.push_str("\r\n");
        }
        batch.push_str(&data_cmd);
        batch.push_str("\r\n");
        s.send(batch.as_bytes(), COMMAND).await.map_err(io_err)?;
        let m = s.reply(COMMAND).await.map_err(io_err)?;
        let mut rr = Vec::new();
        for _ in &rcpt_lines {
            rr.push(s.reply(COMMAND).await.map_err(io_err)?);
        }
        let d = s.reply(DATA_INIT).await.map_err(io_err)?;
        (m, rr, Some(d))
    } else {
        let m = s.command(&mail, COMMAND).await.map_err(io_err)?;
        let mut rr = Vec::new();
        if m.is_ok() {
            for l in &rcpt_lines {
                rr.push(s.command(l, COMMAND).await.map_err(io_err)?);
            }
        }
        (m, rr, None)
    };
    if !mail_reply.is_ok() {
        let _ = s.command("QUIT", COMMAND).await;
        let msg = format!("{host} refused the sender: {mail_reply}");
        return Err(if mail_reply.is_permanent() {
            TxError::Permanent(msg)
        } else {
            TxError::Temporary(msg)
        });
    }
    let rcpts: Vec<Result<Reply, Reply>> = rcpt_replies
        .into_iter()
        .map(|r| if r.is_ok() { Ok(r) } else { Err(r) })
        .collect();
    if !rcpts.iter().any(Result::is_ok) {
        if ext.pipelining {
            // DATA was refused (503/554) since no recipient was accepted.
            let _ = s.command("RSET", COMMAND).await;
        }
        let _ = s.command("QUIT", COMMAND).await;
        return Ok(Outcome {
            rcpts,
            data: None,
            tls: tls_desc,
            sourced: false,
        });
    }
    let data_go = match data_reply {
        Some(d) => d,
        None => s.command(&data_cmd, DATA_INIT).await.map_err(io_err)?,
    };
    if source.is_some() {
        // The reply to SOURCE is final: 250 is the promise to fetch.
        let _ = s.command("QUIT", COMMAND).await;
        return Ok(Outcome {
            rcpts,
            data: Some(data_go),
            tls: tls_desc,
            sourced: true,
        });
    }
    if data_go.code != 354 {
        let _ = s.command("QUIT", COMMAND).await;
        let msg = format!("{host} refused DATA: {data_go}");
        return Err(if data_go.is_permanent() {
            TxError::Permanent(msg)
        } else {
            TxError::Temporary(msg)
        });
    }
    let stuffed = dot_stuff(data);
    for chunk in stuffed.chunks(64 * 1024) {
        s.send(chunk, DATA_BLOCK).await.map_err(io_err)?;
    }
    let end = s.reply(DATA_END).await.map_err(io_err)?;
    let _ = s.command("QUIT", COMMAND).await;
    Ok(Outcome {
        rcpts,
        data: Some(end),
        tls: tls_desc,
        sourced: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_is_exact() {
        assert_eq!(dot_stuff(b"a\r\n.b\r\n..\r\n"), b"a\r\n..b\r\n...\r\n.\r\n");
        assert_eq!(dot_stuff(b".x"), b"..x\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\nb"), b"a\r\nb\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b"\r\n.\r\n");
    }

    #[test]
    fn ehlo_keywords() {
        let r = Reply {
            code: 250,
            text: "mx.example / PIPELINING / SIZE 1000 / STARTTLS / smtputf8".into(),
        };
        let e = parse_ehlo(&r);
        assert!(e.pipelining && e.starttls && e.smtputf8 && !e.eightbit);
        assert_eq!(e.size, Some(1000));
    }

    #[test]
    fn xtext_encodes() {
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
    }
}
