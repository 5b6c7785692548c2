//! The store: directory (domains, accounts, addresses, aliases,
//! credentials: passwords, app passwords, API tokens), mail index
//! (mailboxes, UIDs, flags, MODSEQ, expunges), message blobs, Sieve
//! scripts, calendars and address books (`dav.rs`) and change events — on
//! SQLite + Maildir by default, or on PostgreSQL for several nodes. Both
//! backends run the same SQL through one code path; see `db.rs` for where
//! the dialects differ.

mod abuse;
mod acme;
mod app_passwords;
pub mod backup;
mod blob;
mod commit;
pub mod datadir;
mod dav;
pub mod db;
mod delivered;
mod directory;
mod dkim;
mod dmarc;
mod events;
mod hashing;
mod health;
mod lease;
mod login;
mod mail;
pub mod migrate;
mod mta_sts;
mod password;
mod queue;
mod reader;
pub mod reports;
mod screener;
mod sendas;
mod sieve;
mod snapshot;
mod snooze;
mod source_get;
mod spam;
mod spooled;
mod srs;
mod tokens;
mod web;
mod write_lock;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::AnyPool;
use tern_common::config::{StoreConfig, StoreKind};

pub use abuse::{AuditFilter, AuditRecord, Greylist, GreylistPolicy, StoreAudit};
pub use acme::{AcmeCert, Issued as AcmeIssued};
pub use app_passwords::{AppPassword, CreatedAppPassword, MAX_APP_PASSWORDS};
pub use blob::{create_private, private_dir_all};
pub use dav::{
    DavChange, DavChanges, DavCollection, DavCollectionId, DavCondition, DavKind, DavProps, DavPut,
    DavResource, MAX_DAV_RESOURCE, check_dav_name,
};
pub use db::Backend;
pub use directory::{Account, Alias, Domain, DomainPolicy, Resolution, Target};
pub use dkim::DkimKey;
pub use dmarc::DmarcRecord;
pub use events::{Change, ChangeKind};
pub use health::QueueStats;
pub use lease::Lease;
pub use login::{Credential, Login};
pub use mail::{
    Delivered, FlagOp, Mailbox, MailboxSel, MessageMeta, NewMessage, SPECIAL_MAILBOXES,
    canonical_mailbox_name,
};
pub use mta_sts::{MAX_AGE_LIMIT as MTA_STS_MAX_AGE, MtaSts};
pub use queue::{QueueId, QueueMessage, QueueNew, QueueRcpt, QueueRcptNew, RcptState, TlsResult};
pub use reader::MessageReader;
pub use reports::{KIND_DMARC, KIND_TLSRPT, ReportIn, ReportSent};
pub use screener::{FROM_VERIFIED, MAX_VIP, SENT_DAYS, ScreenerDecision};
pub use sieve::{
    MAX_SIEVE_NAME_CHARS, MAX_SIEVE_SCRIPT_SIZE, MAX_SIEVE_SCRIPTS, SieveLimit, SieveScript,
    SieveScriptInfo, check_sieve_name,
};
pub use snooze::Snoozed;
pub use source_get::{REFUSED as SOURCE_REFUSED, SourceIn};
pub use spam::{GLOBAL as SPAM_GLOBAL, SpamModel};
pub use spooled::SpooledBody;
pub use srs::{MAX_AGE_DAYS as SRS_MAX_AGE_DAYS, Srs, SrsError, is_srs};
pub use tokens::{ApiToken, CreatedToken, TokenScope};
pub use web::{Stage, Totp, WebSession};

pub type AccountId = i64;
pub type MailboxId = i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Duplicate(String),
    /// A delivery with a key (`Store::deliver_once`) that was made before:
    /// nothing was stored this time.
    #[error("already delivered")]
    AlreadyDelivered,
    #[error("{0}")]
    Invalid(String),
    #[error("domain {domain} still has {accounts} account(s); remove them first or use --force")]
    DomainNotEmpty { domain: String, accounts: i64 },
    #[error("mailbox of {account} is over its quota")]
    OverQuota { account: String },
    /// A Sieve script limit (how many, how large).
    #[error("{1}")]
    Limit(SieveLimit, String),
    /// The active Sieve script cannot be deleted (RFC 5804 2.10).
    #[error("{0} is active; deactivate it first")]
    Active(String),
    /// A DAV write's `If-Match`/`If-None-Match` (or MOVE/COPY's
    /// `Overwrite: F`) does not hold (RFC 7232 4.2: 412).
    #[error("the resource is not in the state the request's condition names")]
    DavPreconditionFailed,
    /// Another member of the collection has the UID (RFC 4791 5.3.2.1,
    /// RFC 6352 6.3.2.1 `no-uid-conflict`); it names that member.
    #[error("the member {0:?} of the collection already has this UID")]
    DavUidConflict(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Other(anyhow::Error::new(e).context("database"))
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Other(anyhow::Error::new(e).context("blob storage"))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle to the store; cheap to clone and share between sessions.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    /// Root of the Maildirs (SQLite setup); unused with PostgreSQL.
    data_dir: PathBuf,
    events: events::Bus,
    committer: commit::Committer,
    /// Whose turn it is to write (SQLite only, see `write_lock`).
    turns: Option<write_lock::Turns>,
    snapshots: snapshot::Snapshots,
    /// What a protocol layer keeps of a message beside it (`summary`);
    /// set once by whoever opens the store.
    summarizer: std::sync::OnceLock<Summarizer>,
}

/// Computes, from a new message's bytes, what is kept beside it in the
/// index (`messages.summary`, see [`Store::message_summary_set`]); `None`
/// when nothing is worth keeping. The store does not know the format:
/// the IMAP layer, which reads it, provides the function.
pub type Summarizer = fn(&[u8]) -> Option<Vec<u8>>;

impl Store {
    /// Open (and migrate) the store the configuration names.
    pub async fn open(cfg: &StoreConfig, data_dir: &Path) -> anyhow::Result<Store> {
        datadir::prepare(data_dir)?;
        let (pool, backend) = match cfg.kind {
            StoreKind::Sqlite => (
                db::open_sqlite(data_dir, cfg.max_connections).await?,
                Backend::Sqlite,
            ),
            StoreKind::Postgres => {
                let url = cfg
                    .url
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("store.url is required for PostgreSQL"))?;
                (
                    db::open_postgres(url, cfg.max_connections).await?,
                    Backend::Postgres,
                )
            }
        };
        db::migrate(&pool, backend).await?;
        let events = events::Bus::default();
        if backend == Backend::Postgres
            && let Some(url) = &cfg.url
        {
            events::listen_postgres(url, events.clone()).await?;
        }
        let turns = (backend == Backend::Sqlite).then(write_lock::Turns::new);
        let committer = commit::Committer::start(
            pool.clone(),
            backend,
            data_dir.to_path_buf(),
            events.clone(),
            turns.clone(),
        );
        let store = Store {
            inner: Arc::new(Inner {
                pool,
                backend,
                data_dir: data_dir.to_path_buf(),
                events,
                committer,
                turns,
                snapshots: snapshot::Snapshots::default(),
                summarizer: std::sync::OnceLock::new(),
            }),
        };
        store.migrate_layout().await?;
        Ok(store)
    }

    /// A SQLite store in `dir`, for tests.
    pub async fn open_sqlite_for_tests(dir: &Path) -> anyhow::Result<Store> {
        let cfg = StoreConfig {
            kind: StoreKind::Sqlite,
            url: None,
            max_connections: 4,
        };
        Store::open(&cfg, dir).await
    }

    /// Compute every delivered message's summary with `f` when the
    /// deliverer brings none (SMTP delivery, Sieve, import): it is computed
    /// once, with the bytes in hand, on the blocking pool, instead of by
    /// the first FETCH — or by every session asking at the same moment.
    /// The first call wins.
    pub fn set_summarizer(&self, f: Summarizer) {
        let _ = self.inner.summarizer.set(f);
    }

    pub(crate) fn summarizer(&self) -> Option<Summarizer> {
        self.inner.summarizer.get().copied()
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// BEGIN (`BEGIN IMMEDIATE`): a deferred transaction that reads first
    /// and writes later fails at once with "database is locked" when
    /// another connection wrote in between (its snapshot is stale, and
    /// waiting cannot help), instead of waiting its turn.
    /// On SQLite the transaction first waits for this process's writing
    /// turn (`write_lock`), instead of sleeping in SQLite's busy handler.
    pub(crate) async fn write_tx(&self) -> Result<write_lock::WriteTx> {
        Ok(match &self.inner.turns {
            Some(turns) => {
                let turn = turns.take().await;
                let tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
                write_lock::WriteTx::new(tx, turn)
            }
            None => write_lock::WriteTx::new(self.pool().begin().await?, None),
        })
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Changes of one account (new mail, flags, expunges) as they commit, on
    /// this node and — with PostgreSQL — on every other node.
    pub fn subscribe(&self, account: AccountId) -> tokio::sync::broadcast::Receiver<Change> {
        self.inner.events.subscribe(account)
    }

    /// Close the pool, waiting for in-flight commits.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}
