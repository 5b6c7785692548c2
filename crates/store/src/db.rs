//! The SQL connection pool and the versioned migrations of both backends.
//!
//! Queries are written once, with `$1`-style placeholders that both SQLite
//! and PostgreSQL accept, and run through sqlx's `Any` driver. The few places
//! where the dialects differ (key columns, blob types) are spelled out here.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Each entry is one schema version; never edit a shipped entry, add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: directory, mail index, blobs.
    r#"
    CREATE TABLE domains (
        id {pk},
        name TEXT NOT NULL UNIQUE,
        catch_all TEXT,
        created BIGINT NOT NULL
    );
    CREATE TABLE accounts (
        id {pk},
        name TEXT NOT NULL UNIQUE,
        domain_id BIGINT NOT NULL REFERENCES domains(id),
        secret TEXT NOT NULL,
        quota BIGINT NOT NULL DEFAULT 0,
        used BIGINT NOT NULL DEFAULT 0,
        last_uidvalidity BIGINT NOT NULL DEFAULT 0,
        created BIGINT NOT NULL
    );
    CREATE TABLE addresses (
        address TEXT PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        domain_id BIGINT NOT NULL REFERENCES domains(id)
    );
    CREATE INDEX addresses_account ON addresses(account_id);
    CREATE TABLE aliases (
        address TEXT NOT NULL,
        target TEXT NOT NULL,
        domain_id BIGINT NOT NULL REFERENCES domains(id),
        PRIMARY KEY (address, target)
    );
    CREATE TABLE mailboxes (
        id {pk},
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        dir TEXT NOT NULL,
        special_use TEXT,
        uidvalidity BIGINT NOT NULL,
        uidnext BIGINT NOT NULL DEFAULT 1,
        highestmodseq BIGINT NOT NULL DEFAULT 1,
        subscribed BIGINT NOT NULL DEFAULT 1,
        UNIQUE (account_id, name)
    );
    CREATE TABLE blobs (
        id {pk},
        refs BIGINT NOT NULL,
        data {blob} NOT NULL
    );
    CREATE TABLE messages (
        id {pk},
        mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid BIGINT NOT NULL,
        size BIGINT NOT NULL,
        internal_date BIGINT NOT NULL,
        flags TEXT NOT NULL DEFAULT '',
        modseq BIGINT NOT NULL,
        file TEXT,
        blob_id BIGINT,
        UNIQUE (mailbox_id, uid)
    );
    CREATE TABLE expunged (
        mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid BIGINT NOT NULL,
        modseq BIGINT NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
    );
    "#,
    // 2: abuse protection: audit log and greylisting triplets.
    r#"
    CREATE TABLE audit (
        id {pk},
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        protocol TEXT NOT NULL,
        ip TEXT,
        account TEXT,
        detail TEXT NOT NULL
    );
    CREATE INDEX audit_at ON audit(at);
    CREATE TABLE greylist (
        network TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        first_seen BIGINT NOT NULL,
        passed_until BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (network, sender, recipient)
    );
    "#,
    // 3: the outbound queue: the message once, state per recipient.
    r#"
    CREATE TABLE queue_messages (
        id {pk},
        created BIGINT NOT NULL,
        sender TEXT NOT NULL,
        envid TEXT,
        ret TEXT,
        requiretls BIGINT NOT NULL DEFAULT 0,
        size BIGINT NOT NULL,
        data {blob} NOT NULL
    );
    CREATE TABLE queue_recipients (
        id {pk},
        message_id BIGINT NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
        rcpt TEXT NOT NULL,
        domain TEXT NOT NULL,
        orcpt TEXT,
        notify TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt BIGINT NOT NULL,
        lease_until BIGINT NOT NULL DEFAULT 0,
        lease_owner TEXT NOT NULL DEFAULT '',
        last_error TEXT NOT NULL DEFAULT '',
        delay_notified BIGINT NOT NULL DEFAULT 0,
        updated BIGINT NOT NULL
    );
    CREATE INDEX queue_due ON queue_recipients(state, next_attempt);
    CREATE INDEX queue_by_message ON queue_recipients(message_id);
    "#,
    // 4: outbound TLS outcomes, kept for TLS reporting (RFC 8460).
    r#"
    CREATE TABLE tls_results (
        id {pk},
        at BIGINT NOT NULL,
        domain TEXT NOT NULL,
        mx TEXT NOT NULL,
        policy TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX tls_results_at ON tls_results(at);
    "#,
    // 5: DKIM signing keys, per domain and selector.
    r#"
    CREATE TABLE dkim_keys (
        id {pk},
        domain TEXT NOT NULL,
        selector TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        private_key {blob} NOT NULL,
        public_key TEXT NOT NULL,
        created BIGINT NOT NULL,
        UNIQUE (domain, selector)
    );
    "#,
    // 6: named leases shared by every node (the POP3 maildrop lock).
    r#"
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        until BIGINT NOT NULL
    );
    "#,
    // 7: shared addresses an account may also send as.
    r#"
    CREATE TABLE send_as (
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        PRIMARY KEY (account_id, address)
    );
    "#,
    // 8: per-message DMARC evaluations, for aggregate reports.
    r#"
    CREATE TABLE dmarc_records (
        id {pk},
        at BIGINT NOT NULL,
        source_ip TEXT NOT NULL,
        header_from TEXT NOT NULL,
        envelope_from TEXT NOT NULL,
        policy TEXT NOT NULL,
        dmarc_result TEXT NOT NULL,
        spf_result TEXT NOT NULL,
        spf_domain TEXT NOT NULL,
        spf_aligned BIGINT NOT NULL,
        dkim_results TEXT NOT NULL,
        dkim_aligned BIGINT NOT NULL,
        disposition TEXT NOT NULL,
        override_reason TEXT NOT NULL
    );
    CREATE INDEX dmarc_records_at ON dmarc_records(at);
    "#,
    // 9: what the IMAP layer computes once per message (ENVELOPE,
    // BODYSTRUCTURE, the SORT/THREAD keys), opaque to the store.
    r#"
    ALTER TABLE messages ADD COLUMN summary {blob};
    "#,
    // 10: what changed in a mailbox since a MODSEQ, without reading all of
    // its rows (IMAP sessions catching up, CONDSTORE CHANGEDSINCE).
    r#"
    CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
    "#,
    // 11: the first UID no IMAP session has seen as \Recent yet (RFC 3501
    // 2.3.2); what a mailbox held before is not recent.
    r#"
    ALTER TABLE mailboxes ADD COLUMN recent_uid BIGINT NOT NULL DEFAULT 1;
    UPDATE mailboxes SET recent_uid = uidnext;
    "#,
    // 12: subscriptions by name, apart from the mailboxes: one outlives its
    // mailbox and may name one that does not exist (RFC 3501 6.3.6).
    // mailboxes.subscribed is no longer read.
    r#"
    CREATE TABLE subscriptions (
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (account_id, name)
    );
    INSERT INTO subscriptions (account_id, name)
        SELECT account_id, name FROM mailboxes WHERE subscribed = 1;
    "#,
    // 13: the zone of a message's INTERNALDATE, in minutes east of UTC: an
    // APPEND names it, and BEFORE/ON/SINCE compare the date in that zone
    // (RFC 3501 6.4.4). Mail received here is in UTC (0).
    r#"
    ALTER TABLE messages ADD COLUMN internal_zone BIGINT NOT NULL DEFAULT 0;
    "#,
    // 14: the MTA-STS policy each hosted domain publishes (RFC 8461 3.2):
    // MX patterns space-separated (empty: the server's hostname), and the
    // id of the `_mta-sts` TXT record, new at every change.
    r#"
    CREATE TABLE mta_sts (
        domain TEXT PRIMARY KEY,
        mode TEXT NOT NULL,
        max_age BIGINT NOT NULL,
        mx TEXT NOT NULL,
        id TEXT NOT NULL,
        updated BIGINT NOT NULL
    );
    "#,
    // 15: API tokens and app passwords. Only hashes of their secrets are
    // kept: SHA-256 of a token's 256-bit random secret (high entropy, so a
    // fast hash is enough), argon2id of an app password. A token is scoped
    // to every domain (admin) or to one, by its id, and goes with it; an
    // app password goes with its account. `selector` is an app password's
    // first group, not secret: it picks the one hash a login verifies.
    r#"
    CREATE TABLE api_tokens (
        id {pk},
        name TEXT NOT NULL UNIQUE,
        scope TEXT NOT NULL CHECK (scope IN ('admin', 'domain')),
        domain_id BIGINT REFERENCES domains(id) ON DELETE CASCADE,
        secret_hash TEXT NOT NULL UNIQUE,
        created BIGINT NOT NULL,
        expires BIGINT,
        last_used BIGINT,
        CHECK ((scope = 'admin') = (domain_id IS NULL))
    );
    CREATE TABLE app_passwords (
        id {pk},
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        selector TEXT NOT NULL,
        secret TEXT NOT NULL,
        created BIGINT NOT NULL,
        last_used BIGINT,
        UNIQUE (account_id, name),
        UNIQUE (account_id, selector)
    );
    "#,
    // 16: a disabled account logs in nowhere (password or app password);
    // its mail is still delivered.
    r#"
    ALTER TABLE accounts ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
    "#,
    // 17: the SRS secrets (srs.rs): the newest signs, the recent ones
    // still verify bounces on their way.
    r#"
    CREATE TABLE srs_secrets (
        id {pk},
        secret TEXT NOT NULL,
        created BIGINT NOT NULL
    );
    "#,
    // 18: Sieve scripts (RFC 5228) by account and name, at most one active
    // per account (the partial index holds it across nodes). The text is
    // UTF-8 without NUL, as RFC 5804 sends it.
    r#"
    CREATE TABLE sieve_scripts (
        id {pk},
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        content TEXT NOT NULL,
        size BIGINT NOT NULL,
        active BIGINT NOT NULL DEFAULT 0,
        created BIGINT NOT NULL,
        updated BIGINT NOT NULL,
        UNIQUE (account_id, name)
    );
    CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts(account_id) WHERE active = 1;
    "#,
    // 19: ACME (RFC 8555). The account's credentials (its private key) per
    // CA directory; per set of names (sorted, space-separated) the served
    // certificate and key and the state of its renewal — the order being
    // worked on (resumed after a crash), the last error, the next attempt
    // and a renewal asked for by `tern cert renew` (1, or 2: forced) — so
    // every node on one PostgreSQL serves the same certificate; and the
    // answers to open challenges that any node may be asked for: an
    // http-01 key authorization by token (RFC 8555 8.3), a tls-alpn-01
    // digest by name (RFC 8737 3).
    r#"
    CREATE TABLE acme_accounts (
        directory TEXT PRIMARY KEY,
        credentials TEXT NOT NULL,
        created BIGINT NOT NULL
    );
    CREATE TABLE acme_certs (
        names TEXT PRIMARY KEY,
        cert_pem TEXT,
        key_pem TEXT,
        issuer TEXT,
        not_before BIGINT,
        not_after BIGINT,
        issued BIGINT,
        order_url TEXT,
        last_attempt BIGINT,
        last_error TEXT,
        failures BIGINT NOT NULL DEFAULT 0,
        next_attempt BIGINT NOT NULL DEFAULT 0,
        renew_requested BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE acme_answers (
        key TEXT PRIMARY KEY,
        answer TEXT NOT NULL,
        expires BIGINT NOT NULL
    );
    "#,
    // 20: what Sieve remembers per account between deliveries: the ids
    // of RFC 7352 `duplicate` and vacation's per-sender windows (RFC 5230
    // 4.2), as SHA-256 digests (the ids hold addresses), until they expire.
    r#"
    CREATE TABLE sieve_seen (
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        digest TEXT NOT NULL,
        expires BIGINT NOT NULL,
        PRIMARY KEY (account_id, digest)
    );
    "#,
    // 21: CalDAV (RFC 4791) and CardDAV (RFC 6352), in `dav.rs`.
    // Collections per account, kind ('cal' or 'card') and name (the path
    // segment the client chose, UTF-8); `components` space-separated
    // ('VEVENT VTODO'; empty for address books); `sync` the collection's
    // modification sequence, one up per change to a member: its CTag and
    // its sync token (RFC 6578). Members keep their bytes exactly as PUT
    // (counted in `accounts.used`), with what queries need: the UID, unique
    // in the collection (RFC 4791 5.3.2.1, RFC 6352 6.3.2.1), the component
    // (NULL for vCards) and the span a time-range query tests (seconds
    // since the epoch; NULL is unbounded on that side). `dav_changes` holds
    // each member name's latest change, deletions included (tombstones),
    // for sync-collection; every change has its own modseq, so a truncated
    // answer never splits one.
    r#"
    CREATE TABLE dav_collections (
        id {pk},
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('cal', 'card')),
        name TEXT NOT NULL,
        display_name TEXT,
        description TEXT,
        color TEXT,
        timezone TEXT,
        components TEXT NOT NULL DEFAULT '',
        sync BIGINT NOT NULL DEFAULT 0,
        created BIGINT NOT NULL,
        UNIQUE (account_id, kind, name)
    );
    CREATE TABLE dav_resources (
        id {pk},
        collection_id BIGINT NOT NULL REFERENCES dav_collections(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        uid TEXT NOT NULL,
        etag TEXT NOT NULL,
        content {blob} NOT NULL,
        size BIGINT NOT NULL,
        component TEXT,
        first_start BIGINT,
        last_end BIGINT,
        modseq BIGINT NOT NULL,
        updated BIGINT NOT NULL,
        UNIQUE (collection_id, name),
        UNIQUE (collection_id, uid)
    );
    CREATE INDEX dav_resources_span ON dav_resources(collection_id, first_start, last_end);
    CREATE TABLE dav_changes (
        collection_id BIGINT NOT NULL REFERENCES dav_collections(id) ON DELETE CASCADE,
        modseq BIGINT NOT NULL,
        name TEXT NOT NULL,
        deleted BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (collection_id, name)
    );
    CREATE UNIQUE INDEX dav_changes_modseq ON dav_changes(collection_id, modseq);
    "#,
    // 22: the web admin and self-service pages: the admin role, TOTP
    // second factors with their hashed recovery codes, browser sessions
    // (a digest of the cookie, never the cookie), and the day's message
    // counts the dashboard shows.
    r#"
    ALTER TABLE accounts ADD COLUMN admin BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE totp (
        account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        secret TEXT NOT NULL DEFAULT '',
        pending TEXT NOT NULL DEFAULT '',
        last_step BIGINT NOT NULL DEFAULT 0,
        created BIGINT NOT NULL
    );
    CREATE TABLE recovery_codes (
        id {pk},
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        digest TEXT NOT NULL,
        used BIGINT
    );
    CREATE INDEX recovery_codes_account ON recovery_codes(account_id);
    CREATE TABLE web_sessions (
        digest TEXT PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        stage BIGINT NOT NULL,
        created BIGINT NOT NULL,
        seen BIGINT NOT NULL,
        ip TEXT NOT NULL
    );
    CREATE INDEX web_sessions_account ON web_sessions(account_id);
    CREATE TABLE daily_tally (
        day BIGINT NOT NULL,
        kind TEXT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (day, kind)
    );
    "#,
    // 23: greylisting and tarpitting per domain, set from the web admin or
    // the CLI: NULL follows the configuration, 0 is off, more is on with
    // that delay (seconds for greylisting, milliseconds for the tarpit's
    // first step).
    r#"
    ALTER TABLE domains ADD COLUMN greylist_secs BIGINT;
    ALTER TABLE domains ADD COLUMN tarpit_ms BIGINT;
    "#,
    // 24: the spam classifier's models: token counts per account (scope =
    // the account's id) and for everyone (scope 0), how many messages each
    // model learned, and what each account trained each message as (so a
    // message moved back and forth counts once, as its last move says).
    r#"
    CREATE TABLE spam_tokens (
        scope BIGINT NOT NULL,
        token BIGINT NOT NULL,
        spam BIGINT NOT NULL DEFAULT 0,
        ham BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (scope, token)
    );
    CREATE TABLE spam_totals (
        scope BIGINT PRIMARY KEY,
        spam BIGINT NOT NULL DEFAULT 0,
        ham BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE spam_trained (
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        msg_key TEXT NOT NULL,
        spam BIGINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (account_id, msg_key)
    );
    "#,
    // 25: the Screener and VIP senders, per account: whether the Screener
    // is on, each sender's decision (approved or screened out, with where
    // it came from), the VIP addresses and domains, and the Message-IDs of
    // mail the account sent (a reply to one is approved without asking).
    r#"
    ALTER TABLE accounts ADD COLUMN screener BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE screener_senders (
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sender TEXT NOT NULL,
        approved BIGINT NOT NULL,
        source TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (account_id, sender)
    );
    CREATE TABLE vip_senders (
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        pattern TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (account_id, pattern)
    );
    CREATE TABLE sent_ids (
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        msg_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (account_id, msg_id)
    );
    CREATE INDEX sent_ids_at ON sent_ids(at);
    "#,
    // 26: Snooze: whether an account has it, the time zone its wake-up
    // times are read in (empty: the server's), and each snoozed message —
    // where it waits (mailbox, UID), where it goes back, and when.
    r#"
    ALTER TABLE accounts ADD COLUMN snooze BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
    CREATE TABLE snoozed (
        mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid BIGINT NOT NULL,
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        back_to BIGINT NOT NULL,
        until BIGINT NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
    );
    CREATE INDEX snoozed_until ON snoozed(until);
    "#,
    // 27: DMARC aggregate and TLS-RPT reports. `reports_sent`: one row per
    // kind, day and policy domain, written in the same transaction as the
    // report's mail enters the queue, so no node sends a day twice; an
    // https report waits in it (`payload`) until posted. `reports_done`:
    // the days each kind has finished. `reports_in`: reports other servers
    // sent to us, with their figures and rows as JSON.
    r#"
    CREATE TABLE reports_sent (
        kind TEXT NOT NULL,
        period BIGINT NOT NULL,
        domain TEXT NOT NULL,
        report_id TEXT NOT NULL,
        destinations TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        at BIGINT NOT NULL,
        payload {blob},
        PRIMARY KEY (kind, period, domain)
    );
    CREATE TABLE reports_done (
        kind TEXT NOT NULL,
        period BIGINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (kind, period)
    );
    CREATE TABLE reports_in (
        id {pk},
        kind TEXT NOT NULL,
        domain TEXT NOT NULL,
        org_name TEXT NOT NULL,
        report_id TEXT NOT NULL,
        begin_at BIGINT NOT NULL,
        end_at BIGINT NOT NULL,
        received BIGINT NOT NULL,
        messages BIGINT NOT NULL,
        passed BIGINT NOT NULL,
        failed BIGINT NOT NULL,
        detail TEXT NOT NULL,
        UNIQUE (kind, org_name, report_id, domain)
    );
    CREATE INDEX reports_in_domain ON reports_in(domain, end_at);
    "#,
    // 28: SOURCE/GET (docs/source-get.md). Sender side: a recipient sent
    // by SOURCE is `awaiting` under its identifier until the receiver
    // releases it (or it expires at `next_attempt`). Receiver side: each
    // envelope taken by SOURCE, until the message is fetched, stored and
    // released.
    r#"
    ALTER TABLE queue_recipients ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
    CREATE INDEX queue_recipients_source ON queue_recipients(source_id);
    CREATE TABLE source_in (
        id {pk},
        source_id TEXT NOT NULL UNIQUE,
        sender TEXT NOT NULL,
        rcpts TEXT NOT NULL,
        helo TEXT NOT NULL,
        ip TEXT NOT NULL,
        tls BIGINT NOT NULL,
        created BIGINT NOT NULL,
        next_attempt BIGINT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        last_error TEXT NOT NULL DEFAULT '',
        lease_until BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX source_in_due ON source_in(next_attempt);
    "#,
    // 29: deliveries that must happen once (a message fetched by
    // SOURCE/GET, keyed by its identifier): the key is committed with the
    // message rows, so a fetch repeated after a crash stores nothing twice.
    r#"
    CREATE TABLE delivery_keys (
        name TEXT PRIMARY KEY,
        at BIGINT NOT NULL
    );
    CREATE INDEX delivery_keys_at ON delivery_keys(at);
    "#,
];

fn dialect(sql: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => sql
            .replace("{pk}", "INTEGER PRIMARY KEY AUTOINCREMENT")
            .replace("{blob}", "BLOB"),
        Backend::Postgres => sql
            .replace("{pk}", "BIGSERIAL PRIMARY KEY")
            .replace("{blob}", "BYTEA"),
    }
}

/// Open the SQLite database in `data_dir` (WAL, full fsync on commit).
pub async fn open_sqlite(data_dir: &Path, max_connections: u32) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join("tern.sqlite");
    // The database holds password hashes and DKIM keys: 0600 from birth
    // (SQLite gives its -wal and -shm files the database file's mode).
    if !path.exists() {
        match crate::blob::create_private(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let opts = AnyConnectOptions::from_str(&url).context("sqlite url")?;
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections.max(2))
        .after_connect(|conn, _| {
            Box::pin(async move {
                // WAL lets readers go on while one writer commits; FULL makes
                // every commit durable before it returns (RFC 5321 6.1: a 250
                // is a promise).
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(opts)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(pool)
}

/// Connect to PostgreSQL.
pub async fn open_postgres(url: &str, max_connections: u32) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let opts = AnyConnectOptions::from_str(url).context("postgres url")?;
    AnyPoolOptions::new()
        .max_connections(max_connections.max(2))
        .connect_with(opts)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))
}

/// A URL with its password replaced, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The schema version a database has (0 for none) and the newest this tern
/// knows, read without migrating anything (`tern doctor`).
pub async fn schema_status(pool: &AnyPool) -> anyhow::Result<(i64, i64)> {
    let latest = MIGRATIONS.len() as i64;
    let current: Option<i64> = match sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
        .fetch_one(pool)
        .await
    {
        Ok(v) => v,
        // No schema_version table yet: a database tern never opened.
        Err(sqlx::Error::Database(_)) => None,
        Err(e) => return Err(e).context("reading the schema version"),
    };
    Ok((current.unwrap_or(0), latest))
}

/// Bring the schema to the newest version, each step in its own transaction.
pub async fn migrate(pool: &AnyPool, backend: Backend) -> anyhow::Result<()> {
    // One connection for the whole run, so the PostgreSQL advisory lock that
    // serialises nodes starting at once is held and released on it.
    let mut conn = pool.acquire().await.context("connecting for migrations")?;
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await?;
    if backend == Backend::Postgres {
        conn.execute("SELECT pg_advisory_lock(7346525)").await?;
    }
    let result = run_migrations(&mut conn, backend).await;
    if backend == Backend::Postgres {
        conn.execute("SELECT pg_advisory_unlock(7346525)").await?;
    }
    result
}

async fn run_migrations(conn: &mut sqlx::AnyConnection, backend: Backend) -> anyhow::Result<()> {
    use sqlx::Connection;
    let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
        .fetch_one(&mut *conn)
        .await
        .context("reading schema version")?;
    let current = current.unwrap_or(0) as usize;
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "the database has schema version {current}, newer than this tern ({}); upgrade tern",
            MIGRATIONS.len()
        );
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(current) {
        let mut tx = conn.begin().await?;
        let sql = dialect(m, backend);
        for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            tx.execute(sqlx::AssertSqlSafe(stmt.to_string()))
                .await
                .with_context(|| format!("migration {}: {stmt}", i + 1))?;
        }
        sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
            .bind((i + 1) as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::debug!(version = i + 1, "store schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
