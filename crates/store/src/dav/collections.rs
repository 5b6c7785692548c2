//! Calendars and address books: made, listed, read, changed, removed.

use tern_common::time::now_secs;

use super::*;
use crate::{AccountId, Result, Store, StoreError};

impl Store {
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
}
