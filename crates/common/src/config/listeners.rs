//! `[[listeners]]`: the sockets tern binds, one block each, and the kinds of
//! listener it knows. A listener binds to loopback unless an address is
//! written: nothing is reachable from outside by accident.

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

use super::check::Checker;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerKind {
    Smtp,
    Submission,
    Submissions,
    Imap,
    Imaps,
    Pop3,
    Pop3s,
    Http,
    Https,
    Managesieve,
    /// ManageSieve over TLS from the first byte. RFC 5804 defines STARTTLS
    /// only and no port is assigned, so it is never a default and its
    /// `port` must be written.
    Managesieves,
}

impl ListenerKind {
    /// The kinds with a standard port: those the embedded default and
    /// quickstart open. (`managesieves` is only ever configured.)
    pub const ALL: [ListenerKind; 10] = [
        ListenerKind::Smtp,
        ListenerKind::Submission,
        ListenerKind::Submissions,
        ListenerKind::Imap,
        ListenerKind::Imaps,
        ListenerKind::Pop3,
        ListenerKind::Pop3s,
        ListenerKind::Http,
        ListenerKind::Https,
        ListenerKind::Managesieve,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Smtp => "smtp",
            ListenerKind::Submission => "submission",
            ListenerKind::Submissions => "submissions",
            ListenerKind::Imap => "imap",
            ListenerKind::Imaps => "imaps",
            ListenerKind::Pop3 => "pop3",
            ListenerKind::Pop3s => "pop3s",
            ListenerKind::Http => "http",
            ListenerKind::Https => "https",
            ListenerKind::Managesieve => "managesieve",
            ListenerKind::Managesieves => "managesieves",
        }
    }

    /// The standard port of the protocol (used when `port` is absent); 0
    /// for a kind that has none (`port` is then required).
    pub fn standard_port(self) -> u16 {
        match self {
            ListenerKind::Smtp => 25,
            ListenerKind::Submission => 587,
            ListenerKind::Submissions => 465,
            ListenerKind::Imap => 143,
            ListenerKind::Imaps => 993,
            ListenerKind::Pop3 => 110,
            ListenerKind::Pop3s => 995,
            ListenerKind::Http => 80,
            ListenerKind::Https => 443,
            ListenerKind::Managesieve => 4190,
            ListenerKind::Managesieves => 0,
        }
    }

    /// The unprivileged loopback port of the embedded default.
    pub fn embedded_port(self) -> u16 {
        match self {
            ListenerKind::Smtp => 2525,
            ListenerKind::Submission => 2587,
            ListenerKind::Submissions => 2465,
            ListenerKind::Imap => 2143,
            ListenerKind::Imaps => 2993,
            ListenerKind::Pop3 => 2110,
            ListenerKind::Pop3s => 2995,
            ListenerKind::Http => 8080,
            ListenerKind::Https => 8443,
            ListenerKind::Managesieve | ListenerKind::Managesieves => 4190,
        }
    }

    /// Whether the connection is TLS from its first byte.
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            ListenerKind::Submissions
                | ListenerKind::Imaps
                | ListenerKind::Pop3s
                | ListenerKind::Https
                | ListenerKind::Managesieves
        )
    }
}

impl fmt::Display for ListenerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which listener kinds this build implements; a configured listener of any
/// other kind is refused rather than silently ignored.
pub type Implemented = fn(ListenerKind) -> bool;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawListener {
    kind: ListenerKind,
    addr: Option<IpAddr>,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    pub kind: ListenerKind,
    pub addr: IpAddr,
    pub port: u16,
}

impl ListenerConfig {
    /// Every `[[listeners]]` block: a kind this build has, one socket per
    /// address and port (port 0, any free port, may repeat).
    pub(super) fn all(
        c: &mut Checker<'_>,
        raw: &[RawListener],
        implemented: Implemented,
    ) -> Vec<ListenerConfig> {
        let mut listeners = Vec::new();
        for (i, l) in raw.iter().enumerate() {
            if !implemented(l.kind) {
                c.err(
                    &format!("listeners[{i}].kind"),
                    format!("\"{}\" is not available in this build of tern", l.kind),
                );
            }
            if l.port.is_none() && l.kind.standard_port() == 0 {
                c.err(
                    &format!("listeners[{i}].port"),
                    format!("\"{}\" has no standard port: write one", l.kind),
                );
            }
            let lc = ListenerConfig {
                kind: l.kind,
                addr: l.addr.unwrap_or(IpAddr::from([127, 0, 0, 1])),
                port: l.port.unwrap_or(l.kind.standard_port()),
            };
            if lc.port != 0
                && listeners
                    .iter()
                    .any(|o: &ListenerConfig| o.addr == lc.addr && o.port == lc.port)
            {
                c.err(
                    &format!("listeners[{i}].port"),
                    format!("{}:{} is used by another listener", lc.addr, lc.port),
                );
            }
            listeners.push(lc);
        }
        listeners
    }

    /// The embedded default: every implemented kind (HTTP on 8080 and
    /// HTTPS on 8443 among them), on loopback, on unprivileged ports.
    pub(super) fn embedded(implemented: Implemented) -> Vec<ListenerConfig> {
        ListenerKind::ALL
            .iter()
            .copied()
            .filter(|k| implemented(*k))
            .map(|kind| ListenerConfig {
                kind,
                addr: IpAddr::from([127, 0, 0, 1]),
                port: kind.embedded_port(),
            })
            .collect()
    }
}
