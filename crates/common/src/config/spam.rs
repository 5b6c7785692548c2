//! `[spam]`: the built-in classifier (on by default, per account) and an
//! optional rspamd reached over its HTTP protocol.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

/// What to do with mail when rspamd cannot be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RspamdFailure {
    /// Deliver as if rspamd had said nothing (a warning and a metric).
    Deliver,
    /// 451 4.7.1: the sender tries again later.
    Tempfail,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpamConfig {
    /// The built-in per-account classifier.
    pub classifier: bool,
    /// The classifier's probability at or above which mail goes to Junk.
    pub junk_threshold: f64,
    /// Messages of each kind a model must have learned before it judges.
    pub min_trained: u64,
    /// rspamd's normal worker (`/checkv2`); none: rspamd is not used.
    pub rspamd_url: Option<String>,
    /// rspamd's controller (`/learnspam`, `/learnham`); default `rspamd_url`.
    pub rspamd_controller_url: Option<String>,
    pub rspamd_password: Option<String>,
    pub rspamd_timeout_secs: u64,
    pub rspamd_failure: RspamdFailure,
    /// Check authenticated submissions with rspamd too (a compromised
    /// account sending spam).
    pub check_submissions: bool,
    /// Larger messages are not sent to rspamd.
    pub max_scan_kib: u64,
}

impl Default for SpamConfig {
    fn default() -> Self {
        SpamConfig {
            classifier: true,
            junk_threshold: 0.9,
            min_trained: 10,
            rspamd_url: None,
            rspamd_controller_url: None,
            rspamd_password: None,
            rspamd_timeout_secs: 5,
            rspamd_failure: RspamdFailure::Deliver,
            check_submissions: false,
            max_scan_kib: 2048,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpam {
    classifier: Option<bool>,
    junk_threshold: Option<Spanned<f64>>,
    min_trained: Option<Spanned<u64>>,
    rspamd_url: Option<Spanned<String>>,
    rspamd_controller_url: Option<Spanned<String>>,
    rspamd_password: Option<String>,
    rspamd_timeout_secs: Option<Spanned<u64>>,
    rspamd_failure: Option<Spanned<String>>,
    check_submissions: Option<bool>,
    max_scan_kib: Option<Spanned<u64>>,
}

/// An `http://` URL (rspamd's protocol is plain HTTP).
fn url(c: &mut Checker<'_>, key: &str, v: &Option<Spanned<String>>) -> Option<String> {
    let v = v.as_ref()?;
    let s = v.get_ref().trim();
    if s.starts_with("http://") && s.len() > "http://".len() {
        Some(s.to_string())
    } else {
        c.err_at(key, v, "an http:// URL, e.g. http://127.0.0.1:11333");
        None
    }
}

impl SpamConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawSpam) -> SpamConfig {
        let d = SpamConfig::default();
        let junk_threshold = match &raw.junk_threshold {
            Some(t) if (0.5..=1.0).contains(t.get_ref()) => *t.get_ref(),
            Some(t) => {
                c.err_at("spam.junk_threshold", t, "between 0.5 and 1.0");
                d.junk_threshold
            }
            None => d.junk_threshold,
        };
        let rspamd_failure = match &raw.rspamd_failure {
            None => d.rspamd_failure,
            Some(v) => match v.get_ref().as_str() {
                "deliver" => RspamdFailure::Deliver,
                "tempfail" => RspamdFailure::Tempfail,
                _ => {
                    c.err_at("spam.rspamd_failure", v, "deliver or tempfail");
                    d.rspamd_failure
                }
            },
        };
        SpamConfig {
            classifier: raw.classifier.unwrap_or(d.classifier),
            junk_threshold,
            min_trained: c.positive("spam.min_trained", &raw.min_trained, d.min_trained),
            rspamd_url: url(c, "spam.rspamd_url", &raw.rspamd_url),
            rspamd_controller_url: url(c, "spam.rspamd_controller_url", &raw.rspamd_controller_url),
            rspamd_password: raw.rspamd_password.clone(),
            rspamd_timeout_secs: c.positive(
                "spam.rspamd_timeout_secs",
                &raw.rspamd_timeout_secs,
                d.rspamd_timeout_secs,
            ),
            rspamd_failure,
            check_submissions: raw.check_submissions.unwrap_or(d.check_submissions),
            max_scan_kib: c.positive("spam.max_scan_kib", &raw.max_scan_kib, d.max_scan_kib),
        }
    }
}
