//! `[smtp]`: the bounds of every SMTP session (port 25 and submission):
//! message size, recipients, line length, errors and the RFC 5321 4.5.3.2
//! timeouts.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    max_message_size: Option<Spanned<u64>>,
    max_recipients: Option<Spanned<usize>>,
    max_line_length: Option<Spanned<usize>>,
    max_errors: Option<Spanned<u32>>,
    command_timeout_secs: Option<Spanned<u64>>,
    data_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub max_message_size: u64,
    pub max_recipients: usize,
    pub max_line_length: usize,
    pub max_errors: u32,
    pub command_timeout_secs: u64,
    pub data_timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 100,
            // RFC 5322 2.1.1: 998 characters, not counting CRLF.
            max_line_length: 998,
            max_errors: 10,
            // RFC 5321 4.5.3.2: 5 minutes for commands, 10 for the data block.
            command_timeout_secs: 300,
            data_timeout_secs: 600,
        }
    }
}

impl SmtpConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawSmtp) -> SmtpConfig {
        let d = SmtpConfig::default();
        let smtp = SmtpConfig {
            max_message_size: c.positive(
                "smtp.max_message_size",
                &raw.max_message_size,
                d.max_message_size,
            ),
            max_recipients: c.positive(
                "smtp.max_recipients",
                &raw.max_recipients,
                d.max_recipients,
            ),
            max_line_length: c.positive(
                "smtp.max_line_length",
                &raw.max_line_length,
                d.max_line_length,
            ),
            max_errors: c.positive("smtp.max_errors", &raw.max_errors, d.max_errors),
            command_timeout_secs: c.positive(
                "smtp.command_timeout_secs",
                &raw.command_timeout_secs,
                d.command_timeout_secs,
            ),
            data_timeout_secs: c.positive(
                "smtp.data_timeout_secs",
                &raw.data_timeout_secs,
                d.data_timeout_secs,
            ),
        };
        // RFC 5322 2.1.1: lines of 78 characters must always pass.
        if let Some(l) = &raw.max_line_length
            && *l.get_ref() < 78
        {
            c.err_at(
                "smtp.max_line_length",
                l,
                "must be at least 78 (RFC 5322 2.1.1)",
            );
        }
        smtp
    }
}
