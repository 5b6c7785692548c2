//! The spam classifier's models (`tern_spam` does the arithmetic): token
//! counts per account and for everyone, how many messages each model
//! learned, and what each account trained each message as.
//!
//! Training adds to the account's model and to the global one (scope 0)
//! in one transaction; a message trained again the other way first takes
//! back what it added (so moving a message into Junk and out again leaves
//! it counted once, as ham). Counts only ever change by additions in SQL,
//! so two nodes training at once lose nothing.

use std::collections::HashMap;

use tern_common::time::now_secs;

use crate::{AccountId, Result, Store};

/// The global model's scope.
pub const GLOBAL: i64 = 0;
/// Tokens per query (bound parameters stay well under every backend's
/// limit; one query for a whole message's tokens).
const CHUNK: usize = 600;

/// One model's counts for the tokens asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpamModel {
    /// Messages learned: (spam, ham).
    pub totals: (u64, u64),
    /// (spam, ham) per token; a token not there was never seen.
    pub tokens: HashMap<u64, (u64, u64)>,
}

impl Store {
    /// How many messages a model learned: (spam, ham). `scope` is an
    /// account id, or `GLOBAL`.
    pub async fn spam_totals(&self, scope: i64) -> Result<(u64, u64)> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT spam, ham FROM spam_totals WHERE scope = $1")
                .bind(scope)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map_or((0, 0), |(s, h)| (s.max(0) as u64, h.max(0) as u64)))
    }

    /// What the account's model and the global one learned, in one query:
    /// ((spam, ham) of the account, (spam, ham) of everyone).
    pub async fn spam_totals_of(&self, account: AccountId) -> Result<((u64, u64), (u64, u64))> {
        let rows: Vec<(i64, i64, i64)> =
            sqlx::query_as("SELECT scope, spam, ham FROM spam_totals WHERE scope IN ($1, $2)")
                .bind(account)
                .bind(GLOBAL)
                .fetch_all(self.pool())
                .await?;
        let of = |scope: i64| {
            rows.iter()
                .find(|r| r.0 == scope)
                .map_or((0, 0), |r| (r.1.max(0) as u64, r.2.max(0) as u64))
        };
        Ok((of(account), of(GLOBAL)))
    }

    /// One model (an account's, or `GLOBAL`) for `tokens`: what it learned
    /// and the counts of those tokens it has seen. A model that learned
    /// nothing is returned empty without reading its tokens.
    pub async fn spam_model(&self, scope: i64, tokens: &[u64]) -> Result<SpamModel> {
        let totals = self.spam_totals(scope).await?;
        self.spam_model_with(scope, totals, tokens).await
    }

    /// `spam_model` when the model's totals are known already.
    pub async fn spam_model_with(
        &self,
        scope: i64,
        totals: (u64, u64),
        tokens: &[u64],
    ) -> Result<SpamModel> {
        let mut m = SpamModel {
            totals,
            ..SpamModel::default()
        };
        if m.totals == (0, 0) {
            return Ok(m);
        }
        // The tokens travel as one JSON array, not one bound value each:
        // binding hundreds of values costs more than the lookups.
        let list = format!(
            "[{}]",
            tokens
                .iter()
                .map(|t| (*t as i64).to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let sql = match self.backend() {
            crate::Backend::Sqlite => {
                "SELECT token, spam, ham FROM spam_tokens WHERE scope = $1 \
                 AND token IN (SELECT value FROM json_each($2))"
            }
            crate::Backend::Postgres => {
                "SELECT token, spam, ham FROM spam_tokens WHERE scope = $1 \
                 AND token IN (SELECT value::bigint FROM json_array_elements_text($2::json))"
            }
        };
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(sql)
            .bind(scope)
            .bind(list)
            .fetch_all(self.pool())
            .await?;
        for (token, s, h) in rows {
            m.tokens
                .insert(token as u64, (s.max(0) as u64, h.max(0) as u64));
        }
        Ok(m)
    }

    /// The account's model and the global one, for `tokens`.
    pub async fn spam_models(
        &self,
        account: AccountId,
        tokens: &[u64],
    ) -> Result<(SpamModel, SpamModel)> {
        Ok((
            self.spam_model(account, tokens).await?,
            self.spam_model(GLOBAL, tokens).await?,
        ))
    }

    /// Train the account's model (and the global one) with a message as
    /// spam or ham. `key` names the message (its Message-ID, or a digest);
    /// false when it was already trained this way (nothing changes).
    pub async fn spam_train(
        &self,
        account: AccountId,
        key: &str,
        spam: bool,
        tokens: &[u64],
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let before: Option<i64> = sqlx::query_scalar(
            "SELECT spam FROM spam_trained WHERE account_id = $1 AND msg_key = $2",
        )
        .bind(account)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if before == Some(i64::from(spam)) {
            return Ok(false);
        }
        // (spam, ham) to add per token and to the totals.
        let mut steps: Vec<(i64, i64)> = Vec::new();
        if let Some(was) = before {
            steps.push(if was != 0 { (-1, 0) } else { (0, -1) });
        }
        steps.push(if spam { (1, 0) } else { (0, 1) });
        let (ds, dh) = steps.iter().fold((0, 0), |(a, b), (s, h)| (a + s, b + h));
        for scope in [account, GLOBAL] {
            sqlx::query(
                "INSERT INTO spam_totals (scope, spam, ham) VALUES ($1, $2, $3) \
                 ON CONFLICT (scope) DO UPDATE SET spam = spam_totals.spam + $2, ham = spam_totals.ham + $3",
            )
            .bind(scope)
            .bind(ds)
            .bind(dh)
            .execute(&mut *tx)
            .await?;
            // Many rows per statement: tokens are distinct, so no row
            // meets itself in one INSERT (PostgreSQL refuses that).
            for chunk in tokens.chunks(CHUNK / 2) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| format!("($1, ${}, $2, $3)", i + 4))
                    .collect();
                let sql = format!(
                    "INSERT INTO spam_tokens (scope, token, spam, ham) VALUES {} \
                     ON CONFLICT (scope, token) DO UPDATE SET spam = spam_tokens.spam + $2, ham = spam_tokens.ham + $3",
                    rows.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(scope)
                    .bind(ds)
                    .bind(dh);
                for t in chunk {
                    q = q.bind(*t as i64);
                }
                q.execute(&mut *tx).await?;
            }
        }
        sqlx::query(
            "INSERT INTO spam_trained (account_id, msg_key, spam, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, msg_key) DO UPDATE SET spam = $3, at = $4",
        )
        .bind(account)
        .bind(key)
        .bind(i64::from(spam))
        .bind(now_secs())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Forget an account's own model (its removal; the global one keeps
    /// what it learned).
    pub async fn spam_forget(&self, account: AccountId) -> Result<()> {
        for sql in [
            "DELETE FROM spam_tokens WHERE scope = $1",
            "DELETE FROM spam_totals WHERE scope = $1",
        ] {
            sqlx::query(sql).bind(account).execute(self.pool()).await?;
        }
        Ok(())
    }
}
