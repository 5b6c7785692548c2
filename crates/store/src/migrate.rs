//! Moving a whole store between SQLite + Maildir and PostgreSQL: every
//! table, row for row with its ids, so UIDVALIDITY, UIDs, flags and MODSEQ
//! stay what IMAP clients know. Message bytes change place: Maildir files
//! become rows of `blobs` on PostgreSQL, and the reverse.
//!
//! Both stores have been opened (so both are at the same schema version);
//! the target must be empty. Tables are copied in the order the
//! migrations created them, which is an order their foreign keys allow.
//! The source is only read: stop the server first (or copy a backup).

use futures_util::TryStreamExt;
use sqlx::Row;

use crate::blob;
use crate::db::Backend;
use crate::{Result, Store, StoreError};

/// What a column holds, as far as copying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Bytes,
}

fn kind_of(declared: &str) -> Kind {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") || t.contains("serial") {
        Kind::Int
    } else if t.contains("blob") || t.contains("bytea") {
        Kind::Bytes
    } else {
        Kind::Text
    }
}

enum Val {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// What the copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    pub tables: usize,
    pub rows: u64,
    pub messages: u64,
}

/// A table's columns: (name, kind), from the SQLite side's declaration
/// (both sides were made by the same migrations).
async fn columns(sqlite: &Store, table: &str) -> Result<Vec<(String, Kind)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
        .fetch_all(sqlite.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>(1)?,
                kind_of(&r.try_get::<String, _>(2)?),
            ))
        })
        .collect()
}

/// The tables, in creation order (SQLite keeps it).
async fn tables(sqlite: &Store) -> Result<Vec<String>> {
    let all: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version' ORDER BY rowid",
    )
    .fetch_all(sqlite.pool())
    .await?;
    // Message bytes are moved with their messages, not as rows.
    Ok(all.into_iter().filter(|t| t != "blobs").collect())
}

impl Store {
    /// Copy this store, whole, into `target` (the other backend, empty).
    pub async fn copy_into(
        &self,
        target: &Store,
        mut progress: impl FnMut(&str, u64),
    ) -> Result<Copied> {
        let sqlite = match (self.backend(), target.backend()) {
            (Backend::Sqlite, Backend::Postgres) => self,
            (Backend::Postgres, Backend::Sqlite) => target,
            _ => {
                return Err(StoreError::Invalid(
                    "a store is copied between SQLite and PostgreSQL, one of each".into(),
                ));
            }
        };
        let existing: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM domains) + (SELECT COUNT(*) FROM accounts)",
        )
        .fetch_one(target.pool())
        .await?;
        if existing > 0 {
            return Err(StoreError::Invalid(
                "the target store is not empty; copy into a new one".into(),
            ));
        }
        let mut copied = Copied::default();
        let mut tx = target.pool().begin().await?;
        for table in tables(sqlite).await? {
            let cols = columns(sqlite, &table).await?;
            let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
            let select = format!("SELECT {} FROM {table}", names.join(", "));
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
            let insert = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                marks.join(", ")
            );
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(self.pool());
            let mut n = 0u64;
            while let Some(r) = rows.try_next().await? {
                let mut vals = Vec::with_capacity(cols.len());
                for (i, (_, k)) in cols.iter().enumerate() {
                    vals.push(match k {
                        Kind::Int => Val::Int(r.try_get(i)?),
                        Kind::Text => Val::Text(r.try_get(i)?),
                        Kind::Bytes => Val::Bytes(r.try_get(i)?),
                    });
                }
                if table == "messages" {
                    self.move_bytes(target, &names, &mut vals, &mut tx).await?;
                    copied.messages += 1;
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
                for v in vals {
                    q = match v {
                        Val::Int(x) => q.bind(x),
                        Val::Text(x) => q.bind(x),
                        Val::Bytes(x) => q.bind(x),
                    };
                }
                q.execute(&mut *tx).await?;
                n += 1;
            }
            drop(rows);
            let serial = cols.iter().any(|(n, k)| n == "id" && *k == Kind::Int);
            if target.backend() == Backend::Postgres && serial {
                // Explicit ids leave the sequence behind: bring it level.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )))
                .execute(&mut *tx)
                .await?;
            }
            copied.tables += 1;
            copied.rows += n;
            progress(&table, n);
        }
        tx.commit().await?;
        Ok(copied)
    }

    /// A message row's bytes to where the target keeps them: a Maildir
    /// file becomes a `blobs` row, a blob becomes a Maildir file.
    async fn move_bytes(
        &self,
        target: &Store,
        names: &[&str],
        vals: &mut [Val],
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<()> {
        let at = |n: &str| names.iter().position(|x| *x == n);
        let (Some(mailbox), Some(uid), Some(file), Some(blob_id)) =
            (at("mailbox_id"), at("uid"), at("file"), at("blob_id"))
        else {
            return Err(StoreError::Invalid(
                "messages has not the columns it should".into(),
            ));
        };
        let (Val::Int(Some(mb)), Val::Int(Some(u))) = (&vals[mailbox], &vals[uid]) else {
            return Err(StoreError::Invalid(
                "a message without mailbox or UID".into(),
            ));
        };
        let bytes = self.message_bytes(*mb, *u as u32).await?;
        match target.backend() {
            Backend::Postgres => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO blobs (refs, data) VALUES (1, $1) RETURNING id",
                )
                .bind(bytes)
                .fetch_one(&mut **tx)
                .await?;
                vals[blob_id] = Val::Int(Some(id));
                vals[file] = Val::Text(None);
            }
            Backend::Sqlite => {
                let (account, dir): (i64, String) =
                    sqlx::query_as("SELECT account_id, dir FROM mailboxes WHERE id = $1")
                        .bind(mb)
                        .fetch_one(&mut **tx)
                        .await?;
                let folder = blob::folder_path(target.data_dir(), account, &dir);
                let name = blob::write_message(&folder, &bytes)?;
                vals[file] = Val::Text(Some(name));
                vals[blob_id] = Val::Int(None);
            }
        }
        Ok(())
    }
}
