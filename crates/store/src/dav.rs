//! CalDAV (RFC 4791) and CardDAV (RFC 6352) storage: an account's
//! calendars and address books (collections) and their members
//! (resources), kept byte for byte as the client PUT them — parsing is the
//! HTTP layer's, for validation and for the fields queries need (UID,
//! component, time span), which it hands over beside the bytes.
//!
//! Every write is one transaction that takes the account's row first
//! (`lock`), so writers of one account go one at a time on PostgreSQL too,
//! and gives each member change the next value of its collection's `sync`
//! (RFC 6578: the sync token; also the CTag): a rename within a collection
//! is two changes, two values. `dav_changes` keeps each member name's
//! latest change, deletions included, so `dav_changes` answers any token.
//! Members' bytes count toward the account's quota, as mail does.
//!
//! Rule: the bytes stored are the bytes given; nothing here rewrites them.

use sqlx::Row;
use sqlx::any::AnyRow;
use tern_common::time::now_secs;

use crate::{AccountId, Backend, Result, Store, StoreError};

pub type DavCollectionId = i64;

/// The largest resource stored.
pub const MAX_DAV_RESOURCE: usize = 1 << 20;
/// The longest member or collection name, in bytes.
const MAX_DAV_NAME: usize = 255;
/// The longest UID, in bytes: far beyond what clients make, and within
/// what a PostgreSQL index entry holds.
const MAX_DAV_UID: usize = 1024;
/// The longest collection property (a `calendar-timezone` is the large
/// one: a whole VTIMEZONE).
const MAX_DAV_PROP: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DavKind {
    Calendar,
    AddressBook,
}

impl DavKind {
    fn as_str(self) -> &'static str {
        match self {
            DavKind::Calendar => "cal",
            DavKind::AddressBook => "card",
        }
    }

    fn parse(s: &str) -> Result<DavKind> {
        match s {
            "cal" => Ok(DavKind::Calendar),
            "card" => Ok(DavKind::AddressBook),
            other => Err(anyhow::anyhow!("unknown DAV collection kind {other:?}").into()),
        }
    }
}

/// A calendar or an address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavCollection {
    pub id: DavCollectionId,
    pub account_id: AccountId,
    pub kind: DavKind,
    /// The path segment, as the client chose it.
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    /// A `calendar-timezone` (RFC 4791 5.2.2): a VCALENDAR with a VTIMEZONE.
    pub timezone: Option<String>,
    /// The components a calendar takes (`VEVENT`, `VTODO`…); empty for an
    /// address book.
    pub components: Vec<String>,
    /// The modification sequence: the CTag and the sync token.
    pub sync: i64,
    /// Seconds since the epoch.
    pub created: i64,
}

/// A member, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavResource {
    pub name: String,
    pub uid: String,
    /// Strong, quoted as sent (`"…"`).
    pub etag: String,
    /// Bytes.
    pub size: i64,
    /// `VEVENT`, `VTODO`…; `None` for a vCard.
    pub component: Option<String>,
    /// The span a time-range query tests, in seconds since the epoch;
    /// `None` is unbounded on that side.
    pub first_start: Option<i64>,
    pub last_end: Option<i64>,
    /// The collection's `sync` when the member last changed.
    pub modseq: i64,
    /// Seconds since the epoch, of the last write.
    pub updated: i64,
}

/// A member to store.
#[derive(Debug, Clone)]
pub struct DavPut<'a> {
    pub name: &'a str,
    pub uid: &'a str,
    pub component: Option<&'a str>,
    pub first_start: Option<i64>,
    pub last_end: Option<i64>,
    pub content: &'a [u8],
}

/// RFC 7232 conditions on a write: `If-Match` (this ETag, quoted as stored),
/// `If-None-Match: *`. `IfMatch("*")` is `If-Match: *` (RFC 7232 3.1): any
/// current member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DavCondition {
    Any,
    IfMatch(String),
    IfNoneMatch,
}

/// A PROPPATCH of a collection: `Some(None)` removes, `None` leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DavProps {
    pub display_name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub color: Option<Option<String>>,
    pub timezone: Option<Option<String>>,
}

/// One member's latest change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavChange {
    pub name: String,
    /// Deleted (or moved away): a 404 member in sync-collection.
    pub deleted: bool,
    pub modseq: i64,
}

/// What changed after a sync token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavChanges {
    /// Oldest first.
    pub changes: Vec<DavChange>,
    /// The token to continue from.
    pub token: i64,
    /// More changes follow `token` (RFC 6578 3.6: a 507 member).
    pub truncated: bool,
}

/// A member or collection name: 1 to 255 bytes, no `/`, no control
/// characters, not `.` or `..` (they are path segments, RFC 3986 3.3).
pub fn check_dav_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > MAX_DAV_NAME
        || name == "."
        || name == ".."
        || name.chars().any(|c| c == '/' || c.is_control());
    if bad {
        return Err(StoreError::Invalid(format!(
            "invalid name {name:?} (1 to {MAX_DAV_NAME} bytes, no '/' or control characters, not '.' or '..')"
        )));
    }
    Ok(())
}

/// An iCalendar component name (RFC 5545 3.1: iana-token or x-name).
fn check_component(c: &str) -> Result<()> {
    if c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(StoreError::Invalid(format!("invalid component name {c:?}")));
    }
    Ok(())
}

/// A property value: bounded, and no NUL (PostgreSQL's TEXT holds none).
fn check_prop(what: &str, v: Option<&str>) -> Result<()> {
    match v {
        Some(v) if v.len() > MAX_DAV_PROP || v.contains('\0') => Err(StoreError::Invalid(format!(
            "invalid {what} (at most {MAX_DAV_PROP} bytes, no NUL)"
        ))),
        _ => Ok(()),
    }
}

fn check_put(put: &DavPut<'_>) -> Result<()> {
    check_dav_name(put.name)?;
    if put.content.len() > MAX_DAV_RESOURCE {
        return Err(StoreError::Invalid(format!(
            "the resource is {} bytes; the most a resource may have is {MAX_DAV_RESOURCE}",
            put.content.len()
        )));
    }
    // RFC 4791 4.1, RFC 6352 5.1: every member has a UID.
    if put.uid.is_empty() || put.uid.len() > MAX_DAV_UID || put.uid.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "invalid UID {:?} (1 to {MAX_DAV_UID} bytes, no control characters)",
            put.uid
        )));
    }
    if let Some(c) = put.component {
        check_component(c)?;
    }
    if let (Some(s), Some(e)) = (put.first_start, put.last_end)
        && s > e
    {
        return Err(StoreError::Invalid(format!(
            "the span ends ({e}) before it starts ({s})"
        )));
    }
    Ok(())
}

/// The strong ETag of some bytes: the first 128 bits of their SHA-256, in
/// hex, quoted (RFC 7232 2.3).
fn etag(content: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, content);
    let hex: String = d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Whether `cond` holds for a member whose current ETag is `current`
/// (`None`: no member). RFC 7232 3.1: If-Match compares strongly.
fn check_condition(cond: &DavCondition, current: Option<&str>) -> Result<()> {
    let holds = match cond {
        DavCondition::Any => true,
        DavCondition::IfMatch(e) => current.is_some_and(|c| e == "*" || c == e),
        DavCondition::IfNoneMatch => current.is_none(),
    };
    if holds {
        Ok(())
    } else {
        Err(StoreError::DavPreconditionFailed)
    }
}

/// The columns `collection` reads, in its order.
macro_rules! collection_cols {
    () => {
        "id, account_id, kind, name, display_name, description, color, timezone, components, sync, created"
    };
}

/// The columns `resource` reads, in its order (no content).
macro_rules! resource_cols {
    () => {
        "name, uid, etag, size, component, first_start, last_end, modseq, updated"
    };
}

fn collection(r: &AnyRow) -> Result<DavCollection> {
    let components: String = r.try_get(8)?;
    Ok(DavCollection {
        id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        kind: DavKind::parse(&r.try_get::<String, _>(2)?)?,
        name: r.try_get(3)?,
        display_name: r.try_get(4)?,
        description: r.try_get(5)?,
        color: r.try_get(6)?,
        timezone: r.try_get(7)?,
        components: components.split_whitespace().map(str::to_string).collect(),
        sync: r.try_get(9)?,
        created: r.try_get(10)?,
    })
}

fn resource(r: &AnyRow) -> Result<DavResource> {
    Ok(DavResource {
        name: r.try_get(0)?,
        uid: r.try_get(1)?,
        etag: r.try_get(2)?,
        size: r.try_get(3)?,
        component: r.try_get(4)?,
        first_start: r.try_get(5)?,
        last_end: r.try_get(6)?,
        modseq: r.try_get(7)?,
        updated: r.try_get(8)?,
    })
}

/// Names sort by their bytes on both backends (PostgreSQL's collation
/// would not).
fn by_name(mut v: Vec<DavResource>) -> Vec<DavResource> {
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

fn member_not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("member {name:?}"))
}

fn collection_not_found(id: DavCollectionId) -> StoreError {
    StoreError::NotFound(format!("collection #{id}"))
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// A row of `dav_changes`' query: the collection's sync, then one change
/// (name, deleted, modseq) or NULLs when there is none.
type ChangeRow = (i64, Option<String>, Option<i64>, Option<i64>);

/// What a write checks of a member.
struct Member {
    uid: String,
    etag: String,
    size: i64,
}

/// A collection a write holds: its account's row is locked.
struct Held {
    account: AccountId,
    /// For `OverQuota`.
    account_name: String,
    kind: DavKind,
}

impl Store {
    /// Take the account's row for the rest of the transaction (as
    /// `sieve.rs` does): DAV writers of one account go one at a time, so
    /// `sync` values commit in order. Its name, or `None` when it is gone.
    async fn lock(&self, tx: &mut Tx, account: AccountId) -> Result<Option<String>> {
        let sql = match self.backend() {
            Backend::Postgres => "SELECT name FROM accounts WHERE id = $1 FOR UPDATE",
            Backend::Sqlite => "SELECT name FROM accounts WHERE id = $1",
        };
        Ok(sqlx::query_scalar(sql)
            .bind(account)
            .fetch_optional(&mut **tx)
            .await?)
    }

    /// Lock the account of collection `id` and read the collection again
    /// under the lock (it may have gone while the lock was awaited).
    async fn hold(&self, tx: &mut Tx, id: DavCollectionId) -> Result<Held> {
        const SQL: &str = "SELECT account_id, kind FROM dav_collections WHERE id = $1";
        let row: Option<(i64, String)> = sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        let (account, _) = row.ok_or_else(|| collection_not_found(id))?;
        let account_name = self
            .lock(tx, account)
            .await?
            .ok_or_else(|| collection_not_found(id))?;
        let row: Option<(i64, String)> = sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        let (_, kind) = row.ok_or_else(|| collection_not_found(id))?;
        Ok(Held {
            account,
            account_name,
            kind: DavKind::parse(&kind)?,
        })
    }

    /// Add `delta` bytes to the account's usage; more is refused over its
    /// quota (0: none), less always goes through.
    async fn charge(&self, tx: &mut Tx, held: &Held, delta: i64) -> Result<()> {
        if delta == 0 {
            return Ok(());
        }
        if delta < 0 {
            sqlx::query(
                "UPDATE accounts SET used = CASE WHEN used > $1 THEN used - $1 ELSE 0 END WHERE id = $2",
            )
            .bind(-delta)
            .bind(held.account)
            .execute(&mut **tx)
            .await?;
            return Ok(());
        }
        let r = sqlx::query(
            "UPDATE accounts SET used = used + $1 WHERE id = $2 AND (quota = 0 OR used + $1 <= quota)",
        )
        .bind(delta)
        .bind(held.account)
        .execute(&mut **tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::OverQuota {
                account: held.account_name.clone(),
            });
        }
        Ok(())
    }

    /// Record a change of member `name`: the collection's next `sync`.
    async fn change(
        &self,
        tx: &mut Tx,
        id: DavCollectionId,
        name: &str,
        deleted: bool,
    ) -> Result<i64> {
        let modseq: i64 = sqlx::query_scalar(
            "UPDATE dav_collections SET sync = sync + 1 WHERE id = $1 RETURNING sync",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO dav_changes (collection_id, modseq, name, deleted) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (collection_id, name) DO UPDATE SET modseq = excluded.modseq, deleted = excluded.deleted",
        )
        .bind(id)
        .bind(modseq)
        .bind(name)
        .bind(i64::from(deleted))
        .execute(&mut **tx)
        .await?;
        Ok(modseq)
    }

    /// A member's UID, ETag and size, as the transaction sees them.
    async fn member(&self, tx: &mut Tx, id: DavCollectionId, name: &str) -> Result<Option<Member>> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT uid, etag, size FROM dav_resources WHERE collection_id = $1 AND name = $2",
        )
        .bind(id)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(|(uid, etag, size)| Member { uid, etag, size }))
    }

    async fn remove_member(&self, tx: &mut Tx, id: DavCollectionId, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM dav_resources WHERE collection_id = $1 AND name = $2")
            .bind(id)
            .bind(name)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The first member of collection `id` other than `except` with `uid`.
    async fn uid_holder(
        &self,
        tx: &mut Tx,
        id: DavCollectionId,
        uid: &str,
        except: &[&str],
    ) -> Result<Option<String>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM dav_resources WHERE collection_id = $1 AND uid = $2",
        )
        .bind(id)
        .bind(uid)
        .fetch_all(&mut **tx)
        .await?;
        Ok(names.into_iter().find(|n| !except.contains(&n.as_str())))
    }

    /// Make a collection. `Duplicate` when the account has one of this kind
    /// and name; an address book has no components.
    pub async fn dav_collection_create(
        &self,
        account: AccountId,
        kind: DavKind,
        name: &str,
        display_name: Option<&str>,
        components: &[&str],
    ) -> Result<DavCollection> {
        check_dav_name(name)?;
        check_prop("display name", display_name)?;
        if kind == DavKind::AddressBook && !components.is_empty() {
            return Err(StoreError::Invalid(
                "an address book has no calendar components".into(),
            ));
        }
        for c in components {
            check_component(c)?;
        }
        let now = now_secs();
        let mut tx = self.write_tx().await?;
        if self.lock(&mut tx, account).await?.is_none() {
            return Err(StoreError::NotFound(format!("account #{account}")));
        }
        let duplicate = || StoreError::Duplicate(format!("collection {name:?}"));
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM dav_collections WHERE account_id = $1 AND kind = $2 AND name = $3",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        if existing.is_some() {
            return Err(duplicate());
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO dav_collections (account_id, kind, name, display_name, components, sync, created) \
             VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(name)
        .bind(display_name)
        .bind(components.join(" "))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => duplicate(),
            e => e.into(),
        })?;
        tx.commit().await?;
        Ok(DavCollection {
            id,
            account_id: account,
            kind,
            name: name.to_string(),
            display_name: display_name.map(str::to_string),
            description: None,
            color: None,
            timezone: None,
            components: components.iter().map(|c| c.to_string()).collect(),
            sync: 0,
            created: now,
        })
    }

    /// The account's collections of one kind, by name.
    pub async fn dav_collections(
        &self,
        account: AccountId,
        kind: DavKind,
    ) -> Result<Vec<DavCollection>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            collection_cols!(),
            " FROM dav_collections WHERE account_id = $1 AND kind = $2"
        ))
        .bind(account)
        .bind(kind.as_str())
        .fetch_all(self.pool())
        .await?;
        let mut all = rows.iter().map(collection).collect::<Result<Vec<_>>>()?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// The account's collection of this kind and name.
    pub async fn dav_collection_get(
        &self,
        account: AccountId,
        kind: DavKind,
        name: &str,
    ) -> Result<Option<DavCollection>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            collection_cols!(),
            " FROM dav_collections WHERE account_id = $1 AND kind = $2 AND name = $3"
        ))
        .bind(account)
        .bind(kind.as_str())
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(collection).transpose()
    }

    /// Set or remove a collection's properties (PROPPATCH, RFC 4918 9.2:
    /// all or nothing). Not a member change: `sync` stays.
    pub async fn dav_collection_update(
        &self,
        id: DavCollectionId,
        props: &DavProps,
    ) -> Result<DavCollection> {
        for (what, v) in [
            ("display name", &props.display_name),
            ("description", &props.description),
            ("color", &props.color),
            ("time zone", &props.timezone),
        ] {
            check_prop(what, v.as_ref().and_then(|v| v.as_deref()))?;
        }
        let mut tx = self.write_tx().await?;
        self.hold(&mut tx, id).await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            collection_cols!(),
            " FROM dav_collections WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let mut c = collection(&row)?;
        for (field, v) in [
            (&mut c.display_name, &props.display_name),
            (&mut c.description, &props.description),
            (&mut c.color, &props.color),
            (&mut c.timezone, &props.timezone),
        ] {
            if let Some(v) = v {
                field.clone_from(v);
            }
        }
        sqlx::query(
            "UPDATE dav_collections SET display_name = $1, description = $2, color = $3, timezone = $4 \
             WHERE id = $5",
        )
        .bind(c.display_name.as_deref())
        .bind(c.description.as_deref())
        .bind(c.color.as_deref())
        .bind(c.timezone.as_deref())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Delete a collection with its members and their history; their
    /// bytes leave the account's usage.
    pub async fn dav_collection_delete(&self, id: DavCollectionId) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let held = self.hold(&mut tx, id).await?;
        // PostgreSQL's SUM of BIGINT is NUMERIC: cast it back.
        let freed: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM dav_resources WHERE collection_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        self.charge(&mut tx, &held, -freed).await?;
        for sql in [
            "DELETE FROM dav_changes WHERE collection_id = $1",
            "DELETE FROM dav_resources WHERE collection_id = $1",
            "DELETE FROM dav_collections WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A collection's members, by name, without their bytes.
    pub async fn dav_resources(&self, id: DavCollectionId) -> Result<Vec<DavResource>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            resource_cols!(),
            " FROM dav_resources WHERE collection_id = $1"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(by_name(rows.iter().map(resource).collect::<Result<_>>()?))
    }

    /// One member, without its bytes.
    pub async fn dav_resource(
        &self,
        id: DavCollectionId,
        name: &str,
    ) -> Result<Option<DavResource>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            resource_cols!(),
            " FROM dav_resources WHERE collection_id = $1 AND name = $2"
        ))
        .bind(id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(resource).transpose()
    }

    /// One member with its bytes, exactly as they were PUT.
    pub async fn dav_resource_content(
        &self,
        id: DavCollectionId,
        name: &str,
    ) -> Result<Option<(DavResource, Vec<u8>)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            resource_cols!(),
            ", content FROM dav_resources WHERE collection_id = $1 AND name = $2"
        ))
        .bind(id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((resource(&row)?, row.try_get(9)?)))
    }

    /// Store (create or replace) a member under `cond`; the ETag is a
    /// strong one made from the content (`"<first 32 hex of SHA-256>"`,
    /// quoted). Returns the stored resource and whether it was created.
    /// Errors: `DavPreconditionFailed` when `cond` fails (IfMatch with
    /// another ETag or a missing member; IfNoneMatch and it exists),
    /// `DavUidConflict(other_name)` when another member of the collection
    /// has this UID (RFC 4791 5.3.2.1, RFC 6352 6.3.2.1), `OverQuota`,
    /// `Invalid` (name, UID, component, span, size over `MAX_DAV_RESOURCE`).
    pub async fn dav_resource_put(
        &self,
        id: DavCollectionId,
        put: &DavPut<'_>,
        cond: &DavCondition,
    ) -> Result<(DavResource, bool)> {
        check_put(put)?;
        let etag = etag(put.content);
        let size = put.content.len() as i64;
        let now = now_secs();
        let mut tx = self.write_tx().await?;
        let held = self.hold(&mut tx, id).await?;
        let current = self.member(&mut tx, id, put.name).await?;
        check_condition(cond, current.as_ref().map(|m| m.etag.as_str()))?;
        if let Some(other) = self.uid_holder(&mut tx, id, put.uid, &[put.name]).await? {
            return Err(StoreError::DavUidConflict(other));
        }
        let old_size = current.as_ref().map_or(0, |m| m.size);
        self.charge(&mut tx, &held, size - old_size).await?;
        let modseq = self.change(&mut tx, id, put.name, false).await?;
        let sql = if current.is_some() {
            "UPDATE dav_resources SET uid = $3, etag = $4, content = $5, size = $6, component = $7, \
             first_start = $8, last_end = $9, modseq = $10, updated = $11 \
             WHERE collection_id = $1 AND name = $2"
        } else {
            "INSERT INTO dav_resources (collection_id, name, uid, etag, content, size, component, \
             first_start, last_end, modseq, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        };
        sqlx::query(sql)
            .bind(id)
            .bind(put.name)
            .bind(put.uid)
            .bind(&etag)
            .bind(put.content)
            .bind(size)
            .bind(put.component)
            .bind(put.first_start)
            .bind(put.last_end)
            .bind(modseq)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let stored = DavResource {
            name: put.name.to_string(),
            uid: put.uid.to_string(),
            etag,
            size,
            component: put.component.map(str::to_string),
            first_start: put.first_start,
            last_end: put.last_end,
            modseq,
            updated: now,
        };
        Ok((stored, current.is_none()))
    }

    /// Delete a member under `cond`; its name stays as a tombstone for
    /// sync-collection. `NotFound`, `DavPreconditionFailed`.
    pub async fn dav_resource_delete(
        &self,
        id: DavCollectionId,
        name: &str,
        cond: &DavCondition,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let held = self.hold(&mut tx, id).await?;
        let current = self.member(&mut tx, id, name).await?;
        let current = current.ok_or_else(|| member_not_found(name))?;
        check_condition(cond, Some(&current.etag))?;
        self.remove_member(&mut tx, id, name).await?;
        self.charge(&mut tx, &held, -current.size).await?;
        self.change(&mut tx, id, name, true).await?;
        tx.commit().await?;
        Ok(())
    }

    /// MOVE (`copy` false) or COPY (`copy` true) a member to another
    /// collection of the same kind and account (or the same collection
    /// under another name); `overwrite` false refuses an existing target
    /// with `DavPreconditionFailed` (RFC 4918 10.6). Returns whether the
    /// target was created. The member keeps its UID, so the target
    /// collection must not have it in another member (`DavUidConflict`:
    /// a COPY within one collection always does). Both collections' sync
    /// and changes move: a MOVE leaves a tombstone.
    pub async fn dav_resource_transfer(
        &self,
        from: DavCollectionId,
        name: &str,
        to: DavCollectionId,
        to_name: &str,
        copy: bool,
        overwrite: bool,
    ) -> Result<bool> {
        check_dav_name(to_name)?;
        if from == to && name == to_name {
            // RFC 4918 9.8.5, 9.9.4: 403 when source and destination are one.
            return Err(StoreError::Invalid(
                "the source and the destination are the same member".into(),
            ));
        }
        let mut tx = self.write_tx().await?;
        let held = self.hold(&mut tx, from).await?;
        self.check_target(&mut tx, &held, to).await?;
        let source = self.member(&mut tx, from, name).await?;
        let source = source.ok_or_else(|| member_not_found(name))?;
        let existing = self.member(&mut tx, to, to_name).await?;
        if existing.is_some() && !overwrite {
            return Err(StoreError::DavPreconditionFailed);
        }
        // The overwritten target gives way; so does the source of a rename.
        let renaming = !copy && from == to;
        let except: &[&str] = if renaming {
            &[to_name, name]
        } else {
            &[to_name]
        };
        if let Some(other) = self.uid_holder(&mut tx, to, &source.uid, except).await? {
            return Err(StoreError::DavUidConflict(other));
        }
        let added = if copy { source.size } else { 0 };
        let replaced = existing.as_ref().map_or(0, |m| m.size);
        self.charge(&mut tx, &held, added - replaced).await?;
        if existing.is_some() {
            self.remove_member(&mut tx, to, to_name).await?;
        }
        self.place(&mut tx, (from, name), (to, to_name), copy)
            .await?;
        tx.commit().await?;
        Ok(existing.is_none())
    }

    /// Whether a member of a held collection may go to collection `to`:
    /// one of the same kind in the same account.
    async fn check_target(&self, tx: &mut Tx, held: &Held, to: DavCollectionId) -> Result<()> {
        let target: Option<(i64, String)> =
            sqlx::query_as("SELECT account_id, kind FROM dav_collections WHERE id = $1")
                .bind(to)
                .fetch_optional(&mut **tx)
                .await?;
        let (account, kind) = target.ok_or_else(|| collection_not_found(to))?;
        if account != held.account || DavKind::parse(&kind)? != held.kind {
            return Err(StoreError::Invalid(
                "a member moves only between collections of one kind in one account".into(),
            ));
        }
        Ok(())
    }

    /// Copy or move the member `from` to `to` (free by now), recording the
    /// changes: a move is a tombstone where it was, then the new member
    /// (two sync values when both are in one collection).
    async fn place(
        &self,
        tx: &mut Tx,
        from: (DavCollectionId, &str),
        to: (DavCollectionId, &str),
        copy: bool,
    ) -> Result<()> {
        if !copy {
            self.change(tx, from.0, from.1, true).await?;
        }
        let modseq = self.change(tx, to.0, to.1, false).await?;
        let sql = if copy {
            // The bytes go from row to row inside the database.
            "INSERT INTO dav_resources (collection_id, name, uid, etag, content, size, component, \
             first_start, last_end, modseq, updated) \
             SELECT $1, $2, uid, etag, content, size, component, first_start, last_end, $3, $4 \
             FROM dav_resources WHERE collection_id = $5 AND name = $6"
        } else {
            "UPDATE dav_resources SET collection_id = $1, name = $2, modseq = $3, updated = $4 \
             WHERE collection_id = $5 AND name = $6"
        };
        sqlx::query(sql)
            .bind(to.0)
            .bind(to.1)
            .bind(modseq)
            .bind(now_secs())
            .bind(from.0)
            .bind(from.1)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Members changed (created, modified or deleted) after sync value
    /// `since` (0: everything now present, no deletions), oldest first, at
    /// most `limit` (then `truncated`, and `token` is the modseq of the
    /// last one returned, so a client continues from there), else `token`
    /// is the collection's current sync. Tombstones are kept, so any
    /// `since` up to the current sync is answered; a later one (or a
    /// negative one) is `Invalid` — RFC 6578 3.2 `valid-sync-token`.
    pub async fn dav_changes(
        &self,
        id: DavCollectionId,
        since: i64,
        limit: Option<usize>,
    ) -> Result<DavChanges> {
        // One statement, one snapshot: the sync value and the changes it
        // covers are read together. A limit of 0 would never advance.
        let limit = limit.map(|l| l.max(1));
        let fetch = limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX - 1) + 1);
        let sql = if since == 0 {
            "SELECT d.sync, c.name, c.deleted, c.modseq FROM dav_collections d \
             LEFT JOIN dav_changes c ON c.collection_id = d.id AND c.modseq > $2 AND c.deleted = 0 \
             WHERE d.id = $1 ORDER BY c.modseq LIMIT $3"
        } else {
            "SELECT d.sync, c.name, c.deleted, c.modseq FROM dav_collections d \
             LEFT JOIN dav_changes c ON c.collection_id = d.id AND c.modseq > $2 \
             WHERE d.id = $1 ORDER BY c.modseq LIMIT $3"
        };
        let rows: Vec<ChangeRow> = sqlx::query_as(sql)
            .bind(id)
            .bind(since)
            .bind(fetch)
            .fetch_all(self.pool())
            .await?;
        let Some(sync) = rows.first().map(|r| r.0) else {
            return Err(collection_not_found(id));
        };
        if since < 0 || since > sync {
            return Err(StoreError::Invalid(format!(
                "sync token {since} is not one of this collection (its current one is {sync})"
            )));
        }
        let mut changes: Vec<DavChange> = rows
            .into_iter()
            .filter_map(|(_, name, deleted, modseq)| {
                Some(DavChange {
                    name: name?,
                    deleted: deleted? != 0,
                    modseq: modseq?,
                })
            })
            .collect();
        let truncated = limit.is_some_and(|l| changes.len() > l);
        if let Some(l) = limit.filter(|_| truncated) {
            changes.truncate(l);
        }
        let token = match changes.last() {
            Some(last) if truncated => last.modseq,
            _ => sync,
        };
        Ok(DavChanges {
            changes,
            token,
            truncated,
        })
    }

    /// Members whose span may meet [`start`, `end`) (`None`: unbounded),
    /// for time-range queries; the caller refines. The test is inclusive
    /// at both ends — `first_start <= end` and `last_end >= start`, a NULL
    /// side passing — because RFC 4791 9.9 takes some spans that only touch
    /// the range (a zero-length event at its start, a VTODO due at its end).
    pub async fn dav_in_range(
        &self,
        id: DavCollectionId,
        start: Option<i64>,
        end: Option<i64>,
    ) -> Result<Vec<DavResource>> {
        macro_rules! select {
            ($cond:literal) => {
                concat!(
                    "SELECT ",
                    resource_cols!(),
                    " FROM dav_resources WHERE collection_id = $1",
                    $cond
                )
            };
        }
        let q = match (start, end) {
            (None, None) => sqlx::query(select!("")).bind(id),
            (Some(s), None) => sqlx::query(select!(" AND (last_end IS NULL OR last_end >= $2)"))
                .bind(id)
                .bind(s),
            (None, Some(e)) => {
                sqlx::query(select!(" AND (first_start IS NULL OR first_start <= $2)"))
                    .bind(id)
                    .bind(e)
            }
            (Some(s), Some(e)) => sqlx::query(select!(
                " AND (last_end IS NULL OR last_end >= $2) AND (first_start IS NULL OR first_start <= $3)"
            ))
            .bind(id)
            .bind(s)
            .bind(e),
        };
        let rows = q.fetch_all(self.pool()).await?;
        Ok(by_name(rows.iter().map(resource).collect::<Result<_>>()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_path_segments() {
        for ok in [
            "home",
            "a@b.example",
            "x+y",
            "with space",
            "ümlaut €",
            "a.b",
            "...",
            &"x".repeat(255),
        ] {
            assert!(check_dav_name(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "/",
            "a\nb",
            "a\0",
            "a\u{85}",
            &"x".repeat(256),
        ] {
            assert!(check_dav_name(bad).is_err(), "{bad:?}");
        }
        // 255 bytes, not characters: 128 two-byte characters are 256.
        assert!(check_dav_name(&"é".repeat(128)).is_err());
    }

    #[test]
    fn etags_are_strong_quoted_and_follow_the_bytes() {
        let a = etag(b"BEGIN:VCARD\r\n");
        assert_eq!(a.len(), 34);
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert_eq!(a, etag(b"BEGIN:VCARD\r\n"));
        assert_ne!(a, etag(b"BEGIN:VCARD\n"));
    }

    #[test]
    fn conditions_follow_rfc_7232() {
        let e = "\"abc\"";
        let fails = |c: &DavCondition, cur| check_condition(c, cur).is_err();
        assert!(!fails(&DavCondition::Any, None));
        assert!(!fails(&DavCondition::Any, Some(e)));
        assert!(!fails(&DavCondition::IfMatch(e.into()), Some(e)));
        assert!(fails(&DavCondition::IfMatch("\"abd\"".into()), Some(e)));
        // If-Match fails on a missing resource, even with `*`.
        assert!(fails(&DavCondition::IfMatch(e.into()), None));
        assert!(fails(&DavCondition::IfMatch("*".into()), None));
        assert!(!fails(&DavCondition::IfMatch("*".into()), Some(e)));
        // A weak tag never matches strongly.
        assert!(fails(&DavCondition::IfMatch("W/\"abc\"".into()), Some(e)));
        assert!(!fails(&DavCondition::IfNoneMatch, None));
        assert!(fails(&DavCondition::IfNoneMatch, Some(e)));
    }
}
