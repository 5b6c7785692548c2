//! Every fixed SMTP reply, named once: the code (RFC 5321 4.2), the
//! enhanced status code (RFC 3463, RFC 2034) and the text. Rule: one kind
//! of failure has one wording; the client gets the short reply, the log the
//! cause. Replies that carry a value (a size, a parameter) are functions
//! here too, so that no reply text is written anywhere else.

use crate::framing::FrameError;

/// A temporary failure of the store, the queue or signing (RFC 5321
/// 4.2.5): the cause goes to the log only.
pub const TEMP_FAILURE: &str = "451 4.3.0 Temporary failure, try again later";
/// A message fetched by SOURCE/GET that was stored before (a fetch
/// repeated after a crash): nothing is stored twice.
pub const ALREADY_DELIVERED: &str = "250 2.0.0 Ok: already delivered";

// RFC 5321 4.2.4 / 4.2.5: closing replies, with the host name inserted
// after the enhanced code by `hosted`.
pub const SHUTTING_DOWN: &str = "421 4.3.2 Service shutting down";
pub const TIMEOUT: &str = "421 4.4.2 Timeout, closing connection";
pub const TOO_MANY_ERRORS: &str = "421 4.7.0 Too many errors, closing connection";
pub const TOO_MUCH_JUNK: &str = "421 4.7.0 Too many commands without mail, closing connection";
pub const TOO_MANY_CONNECTIONS: &str = "421 4.7.0 Too many connections for this account";
pub const BYE: &str = "221 2.0.0 Bye";

pub const OK: &str = "250 2.0.0 Ok";
pub const SENDER_OK: &str = "250 2.1.0 Sender OK";
pub const RECIPIENT_OK: &str = "250 2.1.5 Recipient OK";
pub const HELP: &str =
    "214 2.0.0 See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT";
/// RFC 5321 3.5.3: 252 neither confirms nor denies.
pub const VRFY: &str =
    "252 2.5.0 Cannot VRFY user, but will accept the message and attempt delivery";
pub const START_DATA: &str = "354 End data with <CR><LF>.<CR><LF>";
pub const READY_FOR_TLS: &str = "220 2.0.0 Ready to start TLS";
pub const AUTH_OK: &str = "235 2.7.0 Authentication successful";
/// RFC 4954 4: an empty challenge (PLAIN), then LOGIN's "Username:" and
/// "Password:" in base64.
pub const AUTH_CONTINUE: &str = "334 ";
pub const AUTH_USERNAME: &str = "334 VXNlcm5hbWU6";
pub const AUTH_PASSWORD: &str = "334 UGFzc3dvcmQ6";

pub const TOO_MANY_RECIPIENTS: &str = "452 4.5.3 Too many recipients";
pub const RECIPIENTS_PER_HOUR: &str = "450 4.7.1 Too many recipients this hour; try again later";
pub const MESSAGES_PER_IP: &str = "451 4.7.0 Too many messages from your address; try again later";
pub const MESSAGES_PER_ACCOUNT: &str = "451 4.7.0 Too many messages; try again later";
pub const GREYLISTED: &str = "451 4.7.1 Greylisted, please try again later";
/// rspamd's `reject` (RFC 3463 5.7.1: delivery not authorized).
pub const SPAM_REJECTED: &str = "550 5.7.1 Message refused as spam";
/// rspamd's `soft reject` or `greylist`, or rspamd not answering with
/// `rspamd_failure = "tempfail"`.
pub const SPAM_TEMPFAIL: &str = "451 4.7.1 Message deferred by the spam filter, try again later";
pub const AUTH_UNAVAILABLE: &str = "454 4.7.0 Temporary authentication failure";

pub const UNRECOGNIZED: &str = "500 5.5.2 Command unrecognized";
pub const SYNTAX_ERROR: &str = "500 5.5.2 Syntax error";
pub const BAD_SENDER_SYNTAX: &str = "501 5.1.7 Bad sender address syntax";
pub const BAD_RECIPIENT_SYNTAX: &str = "501 5.1.3 Bad recipient address syntax";
pub const EHLO_SYNTAX: &str = "501 5.5.4 Syntax: EHLO hostname";
pub const AUTH_CANCELLED: &str = "501 5.0.0 Authentication cancelled";
pub const AUTH_UNDECODABLE: &str = "501 5.5.2 Cannot decode the response";
pub const AUTH_MALFORMED_PLAIN: &str = "501 5.5.2 Malformed PLAIN response";
pub const NOT_IMPLEMENTED: &str = "502 5.5.1 Command not implemented";
pub const NO_EXPN: &str = "502 5.5.1 EXPN is not available";
pub const NO_STARTTLS: &str = "502 5.5.1 STARTTLS is not available";
pub const TLS_ACTIVE: &str = "503 5.5.1 TLS already active";
pub const AUTH_WRONG_PORT: &str = "503 5.5.1 AUTH is not available on this port; use submission";
pub const AUTH_IN_TRANSACTION: &str = "503 5.5.1 AUTH not allowed during a mail transaction";
pub const ALREADY_AUTHENTICATED: &str = "503 5.5.1 Already authenticated";
pub const BAD_SEQUENCE: &str = "503 5.5.1 Bad sequence of commands";
pub const HELO_FIRST: &str = "503 5.5.1 Send EHLO or HELO first";
pub const NESTED_MAIL: &str = "503 5.5.1 Nested MAIL command";
pub const MAIL_BEFORE_RCPT: &str = "503 5.5.1 Need MAIL before RCPT";
pub const MAIL_BEFORE_DATA: &str = "503 5.5.1 Need MAIL before DATA";
pub const MAIL_BEFORE_BDAT: &str = "503 5.5.1 Need MAIL before BDAT";
pub const DATA_AFTER_BDAT: &str = "503 5.5.1 DATA cannot follow BDAT";
pub const UNKNOWN_MECHANISM: &str = "504 5.5.4 Unrecognized authentication type";
pub const AUTH_REQUIRED: &str = "530 5.7.0 Authentication required";
/// RFC 8689 4.1.
pub const REQUIRETLS_NEEDS_TLS: &str = "530 5.7.10 REQUIRETLS needs TLS";
/// RFC 4954 6: every failed login gets this, whatever the cause.
pub const AUTH_FAILED: &str = "535 5.7.8 Authentication credentials invalid";
pub const ENCRYPTION_REQUIRED: &str =
    "538 5.7.11 Encryption required for requested authentication mechanism";
pub const NO_SUCH_USER: &str = "550 5.1.1 No such user here";
/// A bounce to an SRS address this server did not write, or wrote too
/// long ago (store `srs.rs`).
pub const BAD_SRS: &str = "550 5.1.1 Invalid or expired SRS address";
pub const RELAY_DENIED: &str = "550 5.7.1 Relaying denied";
pub const BAD_SENDER: &str = "553 5.1.7 Bad sender address";
/// RFC 6531 3.4.
pub const NON_ASCII: &str = "553 5.6.7 Non-ASCII address without SMTPUTF8";
/// RFC 2920 3.1: no valid recipient answers DATA (and BDAT) with 554.
pub const NO_VALID_RECIPIENTS: &str = "554 5.5.1 No valid recipients";
pub const NO_BINARYMIME: &str = "555 5.5.4 BODY=BINARYMIME is not supported";
/// RFC 5322 3.6: a message has exactly one From field.
pub const NO_FROM: &str = "550 5.7.1 The message has no From header";

// Replies that carry a value, one function per kind of reply.

/// RFC 5321 4.3.1: the greeting.
pub fn greeting(host: &str) -> String {
    format!("220 {host} ESMTP tern")
}

/// RFC 5321 4.1.1.1: the answer to HELO.
pub fn helo(host: &str) -> String {
    format!("250 {host}")
}

/// RFC 5321 4.2.5: the message is stored (or queued) under `id`.
pub fn queued(id: &str) -> String {
    format!("250 2.0.0 Ok: queued as {id}")
}

/// RFC 3030 2: a BDAT chunk that is not the last one was received.
pub fn octets_received(n: u64) -> String {
    format!("250 2.0.0 {n} octets received")
}

/// RFC 1870 6: the message (as declared by SIZE, or as sent) is too big.
pub fn message_too_big(max: u64) -> String {
    format!("552 5.3.4 Message size exceeds the limit of {max} octets")
}

/// The header section alone is over the limit tern parses (a bound).
pub fn header_too_big(limit: usize) -> String {
    format!("552 5.3.4 The header section exceeds the limit of {limit} octets")
}

/// RFC 3030 2: a chunk too big to read in bounded time closes the session.
pub fn chunk_too_big(max: u64) -> String {
    format!("552 5.3.4 BDAT chunk exceeds the message size limit of {max} octets; closing")
}

/// Refused by the recipient's Sieve script (RFC 5429 2.1 `reject` /
/// `ereject`), with its reason as one printable line.
pub fn sieve_refused(reason: &str) -> String {
    format!("550 5.7.1 {reason}")
}

/// The recipient's mailbox is over its quota (RFC 3463 5.2.2).
pub fn mailbox_full(account: &str) -> String {
    format!("552 5.2.2 Mailbox of {account} is full")
}

pub fn syntax(detail: &str) -> String {
    format!("501 5.5.4 Syntax: {detail}")
}

pub fn invalid_parameter(param: &str) -> String {
    format!("501 5.5.4 Invalid parameter {param}")
}

pub fn unsupported_parameter(param: &str) -> String {
    format!("555 5.5.4 Unsupported parameter {param}")
}

/// RFC 6409 8.1: the envelope sender is not the account's.
pub fn not_your_sender(sender: &str, account: &str) -> String {
    format!("550 5.7.1 Sender <{sender}> is not an address of {account}")
}

/// A From or Sender mailbox that is not the authenticated user's.
pub fn not_your_author(address: &str) -> String {
    format!("550 5.7.1 {address} (From or Sender) is not an address of the authenticated user")
}

/// A framing violation in the command, message or authentication `what`
/// closes the session: the stream cannot be trusted after it (RFC 5321
/// 2.3.8, 4.5.3.1).
pub fn framing(e: FrameError, what: &str) -> String {
    match e {
        FrameError::BareLineEnding => format!(
            "500 5.5.2 Bare CR or LF in the {what}: only CRLF ends a line (RFC 5321 2.3.8); closing"
        ),
        FrameError::Nul => format!("500 5.5.2 NUL in the {what}; closing"),
        FrameError::TooLong => format!("500 5.5.6 {what} line too long; closing"),
    }
}

/// RFC 5322 3.6: a message has exactly one From and at most one Sender.
pub fn repeated_field(n: usize, name: &str) -> String {
    tern_mailauth::fields::repeated_reply(n, name)
}

/// RFC 5322 3.4: From and Sender hold mailboxes (Sender exactly one).
pub fn not_mailboxes(name: &str) -> String {
    format!("550 5.6.0 The {name} field is not a list of mailboxes (RFC 5322 3.4)")
}

/// A reply with the server's name after the enhanced code, as RFC 5321
/// 4.3.2 has it for 421 and 221: `421 4.3.2 mx.example Service shutting down`.
pub fn hosted(reply: &str, host: &str) -> String {
    let mut parts = reply.splitn(3, ' ');
    let (code, enhanced, text) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    format!("{code} {enhanced} {host} {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3463 2 / RFC 2034: the enhanced code's class is the reply's
    /// (2.x.x with 2yz, 4.x.x with 4yz, 5.x.x with 5yz); 3yz replies carry
    /// none. Checked on every reply literal in this file.
    #[test]
    fn every_enhanced_code_has_the_class_of_its_reply() {
        let src = include_str!("replies.rs");
        let mut checked = 0;
        for lit in src.split('"').skip(1).step_by(2) {
            let b = lit.as_bytes();
            if b.len() < 4 || !b[..3].iter().all(u8::is_ascii_digit) || b[3] != b' ' {
                continue;
            }
            let rest = &lit[4..];
            if b[0] == b'3' {
                assert!(!rest.starts_with(|c: char| c.is_ascii_digit()), "{lit}");
                continue;
            }
            let enhanced = rest.split(' ').next().unwrap_or("");
            if !enhanced.starts_with(|c: char| c.is_ascii_digit()) {
                // "250 {host}", "220 {host} ESMTP tern": RFC 5321 4.2 greeting forms.
                continue;
            }
            let parts: Vec<&str> = enhanced.split('.').collect();
            assert_eq!(parts.len(), 3, "{lit}");
            assert_eq!(parts[0].as_bytes()[0], b[0], "{lit}");
            checked += 1;
        }
        assert!(checked > 50, "only {checked} replies found");
    }

    #[test]
    fn hosted_puts_the_name_after_the_enhanced_code() {
        assert_eq!(
            hosted(SHUTTING_DOWN, "mx.example"),
            "421 4.3.2 mx.example Service shutting down"
        );
        assert_eq!(hosted(BYE, "mx.example"), "221 2.0.0 mx.example Bye");
    }
}
