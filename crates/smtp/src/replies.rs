//! Every fixed SMTP reply, named once: the code (RFC 5321 4.2), the
//! enhanced status code (RFC 3463, RFC 2034) and the text. Rule: one kind
//! of failure has one wording; the client gets the short reply, the log the
//! cause. Replies that carry a value (a size, a parameter) are written where
//! the value is known, with a code from here in spirit.

/// A temporary failure of the store, the queue or signing (RFC 5321
/// 4.2.5): the cause goes to the log only.
pub const TEMP_FAILURE: &str = "451 4.3.0 Temporary failure, try again later";

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
pub const RELAY_DENIED: &str = "550 5.7.1 Relaying denied";
pub const BAD_SENDER: &str = "553 5.1.7 Bad sender address";
/// RFC 6531 3.4.
pub const NON_ASCII: &str = "553 5.6.7 Non-ASCII address without SMTPUTF8";
/// RFC 2920 3.1: no valid recipient answers DATA (and BDAT) with 554.
pub const NO_VALID_RECIPIENTS: &str = "554 5.5.1 No valid recipients";
pub const NO_BINARYMIME: &str = "555 5.5.4 BODY=BINARYMIME is not supported";

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

    #[test]
    fn hosted_puts_the_name_after_the_enhanced_code() {
        assert_eq!(
            hosted(SHUTTING_DOWN, "mx.example"),
            "421 4.3.2 mx.example Service shutting down"
        );
        assert_eq!(hosted(BYE, "mx.example"), "221 2.0.0 mx.example Bye");
    }
}
