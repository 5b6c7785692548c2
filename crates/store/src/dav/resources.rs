//! Members: listed, read, stored under conditions, removed, moved and copied.

use sqlx::Row;
use tern_common::time::now_secs;

use super::*;
use crate::{Result, Store, StoreError};

impl Store {
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
}
