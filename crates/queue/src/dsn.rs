//! Delivery status notifications (RFC 3464 `multipart/report`), honouring
//! the RFC 3461 parameters the sender gave: NOTIFY decides whether one is
//! sent, RET how much of the original comes back, ENVID and ORCPT are
//! echoed. Never sent to the null sender.

use tern_common::time::rfc5322_date;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
}

/// One recipient's line in the report.
#[derive(Debug, Clone)]
pub struct RcptStatus {
    pub rcpt: String,
    pub orcpt: Option<String>,
    /// RFC 3463 status such as 5.1.1.
    pub status: String,
    pub remote_mta: Option<String>,
    /// The server's reply, or our own explanation.
    pub diagnostic: String,
}

/// Whether NOTIFY (RFC 3461 4.1) asks for this kind of report. An empty
/// NOTIFY means the default: failures only.
pub fn wanted(notify: &str, action: Action) -> bool {
    let n = notify.to_ascii_uppercase();
    if n.split(',').any(|v| v.trim() == "NEVER") {
        return false;
    }
    match action {
        Action::Failed => n.is_empty() || n.split(',').any(|v| v.trim() == "FAILURE"),
        Action::Delayed => n.split(',').any(|v| v.trim() == "DELAY"),
    }
}

/// The RFC 3463 status to report for a reply such as "550 5.1.1 no such user".
pub fn status_of(reply: &str, permanent: bool) -> String {
    let code = reply.split_whitespace().nth(1).filter(|c| {
        let p: Vec<&str> = c.split('.').collect();
        p.len() == 3
            && p.iter()
                .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
    });
    match code {
        Some(c) => c.to_string(),
        None if permanent => "5.0.0".to_string(),
        None => "4.0.0".to_string(),
    }
}

fn header_part(message: &[u8]) -> &[u8] {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(message.len());
    &message[..end]
}

pub struct Report<'a> {
    pub hostname: &'a str,
    pub sender: &'a str,
    pub envid: Option<&'a str>,
    pub ret: Option<&'a str>,
    pub arrival: i64,
    pub now: i64,
    pub action: Action,
    pub rcpts: &'a [RcptStatus],
    pub original: &'a [u8],
}

/// Build the report message (CRLF line ends, ready to deliver).
pub fn build(r: &Report<'_>) -> Vec<u8> {
    let boundary = format!("{:016x}/{}", rand::random::<u64>(), r.hostname);
    let (subject, human) = match r.action {
        Action::Failed => (
            "Undelivered Mail Returned to Sender",
            "Your message could not be delivered to one or more recipients.\r\n\
             It will not be tried again. The details are below.",
        ),
        Action::Delayed => (
            "Delayed Mail (still being retried)",
            "Your message has not been delivered to one or more recipients yet.\r\n\
             It is still being retried; you will be told if it finally fails.\r\n\
             You do not need to send it again.",
        ),
    };
    let mut m = String::new();
    m.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{}>\r\n",
        r.hostname
    ));
    m.push_str(&format!("To: <{}>\r\n", r.sender));
    m.push_str(&format!("Subject: {subject}\r\n"));
    m.push_str(&format!("Date: {}\r\n", rfc5322_date(r.now)));
    m.push_str(&format!(
        "Message-ID: <dsn.{:016x}@{}>\r\n",
        rand::random::<u64>(),
        r.hostname
    ));
    // RFC 3834: an automatic reply; nobody should answer it automatically.
    m.push_str("Auto-Submitted: auto-replied\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\n"
    ));
    m.push_str("This is a MIME-encapsulated delivery status notification.\r\n\r\n");
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{human}\r\n\r\n"
    ));
    for s in r.rcpts {
        m.push_str(&format!("<{}>: {}\r\n", s.rcpt, s.diagnostic));
    }
    m.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
    ));
    // RFC 3464 2.2: per-message fields.
    m.push_str(&format!("Reporting-MTA: dns; {}\r\n", r.hostname));
    if let Some(e) = r.envid {
        m.push_str(&format!("Original-Envelope-Id: {e}\r\n"));
    }
    m.push_str(&format!("Arrival-Date: {}\r\n", rfc5322_date(r.arrival)));
    // RFC 3464 2.3: per-recipient fields, each group after a blank line.
    for s in r.rcpts {
        m.push_str("\r\n");
        if let Some(o) = &s.orcpt {
            m.push_str(&format!("Original-Recipient: {o}\r\n"));
        }
        m.push_str(&format!("Final-Recipient: rfc822; {}\r\n", s.rcpt));
        m.push_str(match r.action {
            Action::Failed => "Action: failed\r\n",
            Action::Delayed => "Action: delayed\r\n",
        });
        m.push_str(&format!("Status: {}\r\n", s.status));
        if let Some(mta) = &s.remote_mta {
            m.push_str(&format!("Remote-MTA: dns; {mta}\r\n"));
        }
        let diag: String = s.diagnostic.chars().filter(|c| !c.is_control()).collect();
        m.push_str(&format!("Diagnostic-Code: smtp; {diag}\r\n"));
        m.push_str(&format!("Last-Attempt-Date: {}\r\n", rfc5322_date(r.now)));
    }
    let mut out = m.into_bytes();
    // RFC 3461 4.3: RET=FULL returns the message, otherwise the headers.
    let full = r.ret.is_some_and(|v| v.eq_ignore_ascii_case("FULL"));
    if full {
        out.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(r.original);
    } else {
        out.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(header_part(r.original));
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_rules() {
        assert!(wanted("", Action::Failed));
        assert!(!wanted("", Action::Delayed));
        assert!(wanted("SUCCESS,FAILURE", Action::Failed));
        assert!(!wanted("SUCCESS", Action::Failed));
        assert!(wanted("DELAY,FAILURE", Action::Delayed));
        assert!(!wanted("NEVER", Action::Failed));
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_of("550 5.1.1 no such user", true), "5.1.1");
        assert_eq!(status_of("550 no such user", true), "5.0.0");
        assert_eq!(status_of("451 try later", false), "4.0.0");
    }

    #[test]
    fn report_shape() {
        let rcpts = vec![RcptStatus {
            rcpt: "bob@remote.example".into(),
            orcpt: Some("rfc822;Bob@remote.example".into()),
            status: "5.1.1".into(),
            remote_mta: Some("mx.remote.example".into()),
            diagnostic: "550 5.1.1 no such user".into(),
        }];
        let original = b"Subject: hi\r\nFrom: a@example.org\r\n\r\nsecret body\r\n";
        let r = Report {
            hostname: "mx.example.org",
            sender: "a@example.org",
            envid: Some("E1"),
            ret: None,
            arrival: 0,
            now: 60,
            action: Action::Failed,
            rcpts: &rcpts,
            original,
        };
        let text = String::from_utf8(build(&r)).unwrap();
        assert!(text.contains("report-type=delivery-status"));
        assert!(text.contains("Original-Envelope-Id: E1\r\n"));
        assert!(text.contains("Original-Recipient: rfc822;Bob@remote.example\r\n"));
        assert!(text.contains("Final-Recipient: rfc822; bob@remote.example\r\n"));
        assert!(text.contains("Action: failed\r\nStatus: 5.1.1\r\n"));
        assert!(text.contains("text/rfc822-headers"));
        assert!(
            !text.contains("secret body"),
            "RET=HDRS (default) returns headers only"
        );
        let full = build(&Report {
            ret: Some("FULL"),
            ..r
        });
        assert!(String::from_utf8(full).unwrap().contains("secret body"));
    }
}
