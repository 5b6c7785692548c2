//! Mail client autoconfiguration for every hosted domain, made from the
//! listeners this server really has (their kind, TLS mode and bound port)
//! and its hostname:
//!
//! - Thunderbird's `config-v1.1.xml` (the Mozilla ISPDB format), at
//!   `/.well-known/autoconfig/mail/config-v1.1.xml` and
//!   `/mail/config-v1.1.xml?emailaddress=`;
//! - Outlook's POX Autodiscover (`POST /autodiscover/autodiscover.xml`, any
//!   case of the path; `serve.rs` canonicalises it);
//! - an Apple configuration profile (`/apple/mobileconfig?email=`), IMAP on
//!   the implicit-TLS port and SMTP submission on 465.
//!
//! A domain tern does not host is 404. Every value is XML-escaped. No
//! password is ever part of a document.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tern_common::{Address, ListenerKind, normalize_domain};

use crate::client::request_host;
use crate::state::AppState;
use tern_common::xml::escape;

/// How a client starts TLS on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// TLS from the first byte (993, 995, 465).
    Implicit,
    /// STARTTLS / STLS after the greeting (143, 110, 587).
    StartTls,
}

/// One server a client may use.
#[derive(Debug, Clone, Copy)]
struct Server {
    kind: ListenerKind,
    port: u16,
    security: Security,
}

impl Server {
    fn incoming(&self) -> bool {
        !matches!(
            self.kind,
            ListenerKind::Submission | ListenerKind::Submissions
        )
    }

    /// Thunderbird's `type` and `socketType`.
    fn thunderbird(&self) -> (&'static str, &'static str) {
        let t = match self.kind {
            ListenerKind::Imap | ListenerKind::Imaps => "imap",
            ListenerKind::Pop3 | ListenerKind::Pop3s => "pop3",
            _ => "smtp",
        };
        let s = match self.security {
            Security::Implicit => "SSL",
            Security::StartTls => "STARTTLS",
        };
        (t, s)
    }
}

/// The client-facing listeners, best first: implicit TLS before STARTTLS,
/// IMAP before POP3 (RFC 8314 3.3 prefers implicit TLS).
fn servers(state: &AppState) -> Vec<Server> {
    use ListenerKind::*;
    [
        (Imaps, Security::Implicit),
        (Imap, Security::StartTls),
        (Pop3s, Security::Implicit),
        (Pop3, Security::StartTls),
        (Submissions, Security::Implicit),
        (Submission, Security::StartTls),
    ]
    .into_iter()
    .filter_map(|(kind, security)| {
        state.listener(kind).map(|a| Server {
            kind,
            port: a.port(),
            security,
        })
    })
    .collect()
}

/// `domain` if tern hosts it.
async fn hosted(state: &AppState, domain: &str) -> Result<Option<String>, Response> {
    let Ok(d) = normalize_domain(domain) else {
        return Ok(None);
    };
    match state.store.is_local_domain(&d).await {
        Ok(true) => Ok(Some(d)),
        Ok(false) => Ok(None),
        Err(e) => {
            tracing::warn!(domain = %d, error = %e, "http autoconfig domain lookup failed");
            Err((StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response())
        }
    }
}

fn not_hosted() -> Response {
    (StatusCode::NOT_FOUND, "no mail service for this domain\n").into_response()
}

fn xml_response(body: String, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Thunderbird: the domain of `emailaddress`, else the host it asked
/// (`autoconfig.DOMAIN` or `DOMAIN`).
pub async fn thunderbird(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let domain = match q.get("emailaddress") {
        Some(e) => match Address::parse(e) {
            Ok(a) => a.domain().to_string(),
            Err(_) => {
                return (StatusCode::BAD_REQUEST, "emailaddress is not an address\n")
                    .into_response();
            }
        },
        None => match request_host(&req) {
            Some(h) => h.strip_prefix("autoconfig.").unwrap_or(&h).to_string(),
            None => return not_hosted(),
        },
    };
    let domain = match hosted(&state, &domain).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_hosted(),
        Err(r) => return r,
    };
    xml_response(
        thunderbird_xml(&domain, &state.config.hostname, &servers(&state)),
        "application/xml; charset=utf-8",
    )
}

fn thunderbird_xml(domain: &str, hostname: &str, servers: &[Server]) -> String {
    let (d, h) = (escape(domain), escape(hostname));
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n  <emailProvider id=\"{d}\">\n    <domain>{d}</domain>\n    <displayName>{d}</displayName>\n    <displayShortName>{d}</displayShortName>\n"
    );
    for srv in servers {
        let (t, sock) = srv.thunderbird();
        let tag = if srv.incoming() {
            "incomingServer"
        } else {
            "outgoingServer"
        };
        s.push_str(&format!(
            "    <{tag} type=\"{t}\">\n      <hostname>{h}</hostname>\n      <port>{}</port>\n      <socketType>{sock}</socketType>\n      <username>%EMAILADDRESS%</username>\n      <authentication>password-cleartext</authentication>\n    </{tag}>\n",
            srv.port
        ));
    }
    s.push_str("  </emailProvider>\n</clientConfig>\n");
    s
}

/// Outlook's POX Autodiscover: the request names the address in
/// `<EMailAddress>`; the answer lists IMAP, POP3 and SMTP.
pub async fn autodiscover(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(email) = email_in_request(&body) else {
        return (StatusCode::BAD_REQUEST, "no EMailAddress in the request\n").into_response();
    };
    let Ok(addr) = Address::parse(&email) else {
        return (StatusCode::BAD_REQUEST, "EMailAddress is not an address\n").into_response();
    };
    match hosted(&state, addr.domain()).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_hosted(),
        Err(r) => return r,
    }
    xml_response(
        autodiscover_xml(&addr.to_string(), &state.config.hostname, &servers(&state)),
        "application/xml; charset=utf-8",
    )
}

/// The text of the first `EMailAddress` element, with or without a
/// namespace prefix; bounded by the body limit, read in one pass.
fn email_in_request(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("EMailAddress>")? + "EMailAddress>".len();
    let rest = &text[start..];
    let end = rest.find('<')?;
    let v = rest[..end].trim();
    (!v.is_empty() && v.len() <= 320).then(|| v.to_string())
}

fn autodiscover_xml(email: &str, hostname: &str, servers: &[Server]) -> String {
    let (e, h) = (escape(email), escape(hostname));
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n",
    );
    // One protocol of each type: the first (best) listener of it.
    let mut seen = Vec::new();
    for srv in servers {
        let t = match srv.kind {
            ListenerKind::Imap | ListenerKind::Imaps => "IMAP",
            ListenerKind::Pop3 | ListenerKind::Pop3s => "POP3",
            _ => "SMTP",
        };
        if seen.contains(&t) {
            continue;
        }
        seen.push(t);
        let tls = match srv.security {
            Security::Implicit => "<SSL>on</SSL>",
            Security::StartTls => "<SSL>off</SSL>\n        <Encryption>TLS</Encryption>",
        };
        s.push_str(&format!(
            "      <Protocol>\n        <Type>{t}</Type>\n        <Server>{h}</Server>\n        <Port>{}</Port>\n        <LoginName>{e}</LoginName>\n        <DomainRequired>off</DomainRequired>\n        <SPA>off</SPA>\n        {tls}\n        <AuthRequired>on</AuthRequired>\n      </Protocol>\n",
            srv.port
        ));
    }
    s.push_str("    </Account>\n  </Response>\n</Autodiscover>\n");
    s
}

/// Apple: a configuration profile with one `com.apple.mail.managed`
/// payload (IMAP on its implicit-TLS port, SMTP on 465; STARTTLS ports
/// when those are all there is), and CalDAV and CardDAV account payloads
/// when tern serves https.
pub async fn mobileconfig(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(Ok(addr)) = q.get("email").map(|e| Address::parse(e)) else {
        return (StatusCode::BAD_REQUEST, "email must be an address\n").into_response();
    };
    match hosted(&state, addr.domain()).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_hosted(),
        Err(r) => return r,
    }
    let servers = servers(&state);
    let pick = |kinds: [ListenerKind; 2]| {
        kinds
            .iter()
            .find_map(|k| servers.iter().find(|s| s.kind == *k).copied())
    };
    let (Some(imap), Some(smtp)) = (
        pick([ListenerKind::Imaps, ListenerKind::Imap]),
        pick([ListenerKind::Submissions, ListenerKind::Submission]),
    ) else {
        return (
            StatusCode::NOT_FOUND,
            "this server offers no IMAP and submission\n",
        )
            .into_response();
    };
    let dav = state.listener(ListenerKind::Https).map(|a| a.port());
    let mut r = xml_response(
        profile(&addr.to_string(), &state.config.hostname, imap, smtp, dav),
        "application/x-apple-aspen-config",
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"mail.mobileconfig\""),
    );
    r
}

/// The CalDAV and CardDAV account payloads (Apple's `com.apple.caldav.account`
/// and `com.apple.carddav.account`), pointing at the account's principal.
fn dav_payloads(email: &str, hostname: &str, id: &str, port: u16) -> String {
    let (e, h) = (escape(email), escape(hostname));
    let principal = escape(&format!(
        "/dav/principals/{}/",
        email
            .replace('%', "%25")
            .replace('@', "%40")
            .replace('+', "%2B")
    ));
    let mut out = String::new();
    for (prefix, kind, name) in [
        ("CalDAV", "caldav", "Calendar"),
        ("CardDAV", "carddav", "Contacts"),
    ] {
        let uuid = uuid_from(&format!("{kind} {hostname} {email}"));
        out.push_str(&format!(
            r#"    <dict>
      <key>{prefix}AccountDescription</key><string>{e}</string>
      <key>{prefix}HostName</key><string>{h}</string>
      <key>{prefix}Port</key><integer>{port}</integer>
      <key>{prefix}PrincipalURL</key><string>{principal}</string>
      <key>{prefix}UseSSL</key><true/>
      <key>{prefix}Username</key><string>{e}</string>
      <key>PayloadDescription</key><string>{name} account {e}</string>
      <key>PayloadDisplayName</key><string>{name}: {e}</string>
      <key>PayloadIdentifier</key><string>{id}.{kind}.account</string>
      <key>PayloadType</key><string>com.apple.{kind}.account</string>
      <key>PayloadUUID</key><string>{uuid}</string>
      <key>PayloadVersion</key><integer>1</integer>
    </dict>
"#
        ));
    }
    out
}

fn profile(email: &str, hostname: &str, imap: Server, smtp: Server, dav: Option<u16>) -> String {
    let (e, h) = (escape(email), escape(hostname));
    let reverse: Vec<&str> = hostname.rsplit('.').collect();
    let id = escape(&reverse.join("."));
    let uuid_account = uuid_from(&format!("account {hostname} {email}"));
    let uuid_profile = uuid_from(&format!("profile {hostname} {email}"));
    let b = |v: bool| if v { "<true/>" } else { "<false/>" };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>EmailAccountDescription</key><string>{e}</string>
      <key>EmailAccountName</key><string>{e}</string>
      <key>EmailAccountType</key><string>EmailTypeIMAP</string>
      <key>EmailAddress</key><string>{e}</string>
      <key>IncomingMailServerAuthentication</key><string>EmailAuthPassword</string>
      <key>IncomingMailServerHostName</key><string>{h}</string>
      <key>IncomingMailServerPortNumber</key><integer>{ip}</integer>
      <key>IncomingMailServerUseSSL</key>{is}
      <key>IncomingMailServerUsername</key><string>{e}</string>
      <key>OutgoingMailServerAuthentication</key><string>EmailAuthPassword</string>
      <key>OutgoingMailServerHostName</key><string>{h}</string>
      <key>OutgoingMailServerPortNumber</key><integer>{sp}</integer>
      <key>OutgoingMailServerUseSSL</key>{ss}
      <key>OutgoingMailServerUsername</key><string>{e}</string>
      <key>OutgoingPasswordSameAsIncomingPassword</key><true/>
      <key>PayloadDescription</key><string>Mail account {e}</string>
      <key>PayloadDisplayName</key><string>{e}</string>
      <key>PayloadIdentifier</key><string>{id}.mail.account</string>
      <key>PayloadType</key><string>com.apple.mail.managed</string>
      <key>PayloadUUID</key><string>{uuid_account}</string>
      <key>PayloadVersion</key><integer>1</integer>
      <key>PreventAppSheet</key><false/>
      <key>PreventMove</key><false/>
      <key>SMIMEEnabled</key><false/>
    </dict>
{dav}  </array>
  <key>PayloadDescription</key><string>Mail settings for {e}</string>
  <key>PayloadDisplayName</key><string>Mail: {e}</string>
  <key>PayloadIdentifier</key><string>{id}.mail</string>
  <key>PayloadRemovalDisallowed</key><false/>
  <key>PayloadType</key><string>Configuration</string>
  <key>PayloadUUID</key><string>{uuid_profile}</string>
  <key>PayloadVersion</key><integer>1</integer>
</dict>
</plist>
"#,
        dav = dav.map_or_else(String::new, |p| dav_payloads(
            email,
            hostname,
            &reverse.join("."),
            p
        )),
        ip = imap.port,
        // Apple's UseSSL covers STARTTLS too: the account then upgrades.
        is = b(true),
        sp = smtp.port,
        ss = b(true),
    )
}

/// A UUID-shaped id that is the same for the same input, so installing
/// the profile again replaces it (FNV-1a, 128 bits; not a secret).
fn uuid_from(s: &str) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in s.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let x = format!("{h:032X}");
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_a_pox_request() {
        let req = br#"<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress> a@example.org </EMailAddress><AcceptableResponseSchema>x</AcceptableResponseSchema></Request></Autodiscover>"#;
        assert_eq!(email_in_request(req).as_deref(), Some("a@example.org"));
        assert_eq!(
            email_in_request(b"<a:EMailAddress>b@x.org</a:EMailAddress>").as_deref(),
            Some("b@x.org")
        );
        assert_eq!(email_in_request(b"<EMailAddress></EMailAddress>"), None);
        assert_eq!(email_in_request(b"<EMailAddress>unterminated"), None);
        assert_eq!(email_in_request(&[0xff, 0xfe]), None);
    }

    #[test]
    fn uuids_are_stable_and_shaped() {
        let a = uuid_from("x");
        assert_eq!(a, uuid_from("x"));
        assert_ne!(a, uuid_from("y"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn values_cannot_add_markup() {
        let s = Server {
            kind: ListenerKind::Imaps,
            port: 993,
            security: Security::Implicit,
        };
        let x = thunderbird_xml("<evil>", "h&h", &[s]);
        assert!(x.contains("&lt;evil&gt;") && x.contains("h&amp;h") && !x.contains("<evil>"));
    }
}
