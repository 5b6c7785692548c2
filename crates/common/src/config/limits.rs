//! `[limits]` and `[limits.<family>]`: concurrent connections, globally and
//! per protocol family, per IP, per user and per user+IP. 0 means no limit
//! at that level; an unset key keeps its family's default. The limiter
//! itself is `crate::limits`; this is only its configuration.

use std::collections::HashMap;

use serde::Deserialize;

use super::listeners::ListenerKind;

/// Protocol families that share limits (`imap` and `imaps` are one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Smtp,
    Submission,
    Imap,
    Pop3,
    Http,
    ManageSieve,
}

impl Family {
    pub fn of(kind: ListenerKind) -> Family {
        match kind {
            ListenerKind::Smtp => Family::Smtp,
            ListenerKind::Submission | ListenerKind::Submissions => Family::Submission,
            ListenerKind::Imap | ListenerKind::Imaps => Family::Imap,
            ListenerKind::Pop3 | ListenerKind::Pop3s => Family::Pop3,
            ListenerKind::Http | ListenerKind::Https => Family::Http,
            ListenerKind::Managesieve | ListenerKind::Managesieves => Family::ManageSieve,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Smtp => "smtp",
            Family::Submission => "submission",
            Family::Imap => "imap",
            Family::Pop3 => "pop3",
            Family::Http => "http",
            Family::ManageSieve => "managesieve",
        }
    }
}

/// The limits of one protocol family. 0 means "no limit" for that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyLimits {
    pub per_ip: u32,
    pub per_user: u32,
    pub per_user_ip: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    pub global: u32,
    pub families: HashMap<Family, FamilyLimits>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        // An office behind one NAT runs a few clients per person: per-IP
        // limits are generous; per user+IP is tight (one device's loop).
        let fam = |per_ip, per_user, per_user_ip| FamilyLimits {
            per_ip,
            per_user,
            per_user_ip,
        };
        let families = HashMap::from([
            (Family::Smtp, fam(20, 0, 0)),
            (Family::Submission, fam(50, 20, 10)),
            (Family::Imap, fam(100, 50, 20)),
            (Family::Pop3, fam(50, 10, 5)),
            (Family::Http, fam(100, 50, 20)),
            (Family::ManageSieve, fam(20, 10, 5)),
        ]);
        LimitsConfig {
            global: 10_000,
            families,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    global: Option<u32>,
    smtp: Option<RawFamilyLimits>,
    submission: Option<RawFamilyLimits>,
    imap: Option<RawFamilyLimits>,
    pop3: Option<RawFamilyLimits>,
    http: Option<RawFamilyLimits>,
    managesieve: Option<RawFamilyLimits>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RawFamilyLimits {
    per_ip: Option<u32>,
    per_user: Option<u32>,
    per_user_ip: Option<u32>,
}

impl LimitsConfig {
    /// Every value is valid (0 is "no limit"): nothing to check.
    pub(super) fn from_raw(raw: &RawLimits) -> LimitsConfig {
        let mut l = LimitsConfig::default();
        if let Some(g) = raw.global {
            l.global = g;
        }
        let fams = [
            (Family::Smtp, raw.smtp),
            (Family::Submission, raw.submission),
            (Family::Imap, raw.imap),
            (Family::Pop3, raw.pop3),
            (Family::Http, raw.http),
            (Family::ManageSieve, raw.managesieve),
        ];
        for (f, r) in fams {
            let Some(r) = r else { continue };
            let e = l.families.entry(f).or_insert(FamilyLimits {
                per_ip: 0,
                per_user: 0,
                per_user_ip: 0,
            });
            if let Some(v) = r.per_ip {
                e.per_ip = v;
            }
            if let Some(v) = r.per_user {
                e.per_user = v;
            }
            if let Some(v) = r.per_user_ip {
                e.per_user_ip = v;
            }
        }
        l
    }
}
