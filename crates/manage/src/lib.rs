//! The management layer: every operation an administrator performs —
//! domains, users, aliases, send-as, app passwords, Sieve scripts, API
//! tokens, DKIM keys, ACME certificates,
//! the queue, the audit log and the DNS records to publish — as one
//! function, with one validation and one error type, called by both `tern …` (the CLI, always with
//! `Scope::Admin`) and the JSON API (with the scope of the caller's token).
//! No rule is written twice: the CLI and the API only parse their input
//! and present the result.

mod aliases;
mod app_passwords;
mod audit;
mod certs;
mod dkim;
mod dns;
mod dns_check;
mod domain_policy;
mod domains;
mod error;
mod mta_sts;
mod page;
mod password;
mod queue;
mod reports;
mod scope;
mod screener;
mod sieve;
mod snooze;
mod spam;
mod srs;
mod tokens;
mod users;
mod web;

pub use aliases::AliasInfo;
pub use app_passwords::{AppPasswordCreated, AppPasswordInfo};
pub use audit::{AuditEntry, AuditQuery, AuditSearch, MAX_AUDIT};
pub use certs::CertInfo;
pub use dkim::{DkimInfo, default_selector};
pub use dns::{DnsRecord, zone_strings};
pub use dns_check::RecordCheck;
pub use domain_policy::{DomainPolicyInfo, MAX_GREYLIST_SECS, MAX_TARPIT_MS, Setting};
pub use domains::{DomainCreated, DomainInfo};
pub use error::{Code, Error, Result};
pub use mta_sts::{MAX_AGE_LIMIT, MtaStsInfo, MtaStsPolicy};
pub use page::{MAX_LIMIT, Page, PageRequest};
pub use password::random_password;
pub use queue::{QueueInfo, QueueRcptInfo};
pub use reports::{MAX_REPORTS, ReportInfo, ReportQuery, SentReportInfo};
pub use scope::Scope;
pub use screener::{SenderDecision, sender_key, vip_key};
pub use sieve::{PutError, SieveInfo, put_script};
pub use snooze::{
    FOLDERS as SNOOZE_FOLDERS, KEYWORD as SNOOZE_KEYWORD, SNOOZED, SnoozedInfo,
    back_to as snooze_back_to, is_snoozed, wake_time, zone_of,
};
pub use spam::{SpamModelInfo, SpamStatus};
pub use tern_filter::{ScriptError, check_script, check_script_blocking, sieve_extensions};
pub use tokens::{MAX_TOKEN_DAYS, NewToken, TokenCreated, TokenInfo};
pub use users::{NewPassword, NewUser, UserCreated, UserInfo};
pub use web::{Enrolment, Figures, Lifetimes, LoginRecord, Opened, RECOVERY_CODES, SecondFactor};

use std::sync::Arc;

use tern_common::Config;
use tern_store::Store;

/// The operations, over one store and the configuration they describe
/// (the DNS records name the configured host and listeners).
#[derive(Clone)]
pub struct Manager {
    store: Store,
    config: Arc<Config>,
}

impl Manager {
    pub fn new(store: Store, config: Arc<Config>) -> Manager {
        Manager { store, config }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}
