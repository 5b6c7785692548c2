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

type Tx = crate::write_lock::WriteTx;

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
}

// After the column macros above: the submodules use them.
mod collections;
mod resources;
mod sync;

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
