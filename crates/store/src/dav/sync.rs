//! What changed after a sync token (RFC 6578), and members by time span.

use super::*;
use crate::{Result, Store, StoreError};

impl Store {
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
