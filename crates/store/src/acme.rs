//! What ACME (RFC 8555) keeps in the store, so that every node sharing it
//! serves the same certificate: the account's credentials per CA
//! directory, the certificate and key per set of names with the state of
//! its renewal, and the answers to open challenges any node may be asked
//! for (http-01, RFC 8555 8.3; tls-alpn-01, RFC 8737 3). The rule: a certificate row is written only by the node
//! holding the ACME lease; every node reads it.

use sqlx::Row;
use tern_common::time::now_secs;

use crate::{Result, Store};

/// One set of names: the certificate served for them (once there is one)
/// and where its renewal stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcmeCert {
    /// Sorted, space-separated DNS names.
    pub names: String,
    pub cert_pem: Option<String>,
    pub key_pem: Option<String>,
    pub issuer: Option<String>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    pub issued: Option<i64>,
    /// The order being worked on, resumed after a crash (RFC 8555 7.1.3).
    pub order_url: Option<String>,
    pub last_attempt: Option<i64>,
    /// Why the last attempt failed; cleared by a success.
    pub last_error: Option<String>,
    pub failures: i64,
    /// No attempt before this (backoff after a failure).
    pub next_attempt: i64,
    /// 0: none; 1: renew if due; 2: renew now, even if not due.
    pub renew_requested: i64,
}

impl AcmeCert {
    /// When its certificate is to be renewed: `renew_before_days` before
    /// expiry, else at two thirds of its lifetime; never before a third of
    /// it (a `renew_before_days` longer than a CA's certificates live must
    /// not order again and again). `None`: no certificate.
    pub fn renew_at(&self, renew_before_days: Option<u64>) -> Option<i64> {
        self.cert_pem.as_ref()?;
        let (nb, na) = (self.not_before?, self.not_after?);
        let life = (na - nb).max(0);
        let at = match renew_before_days {
            Some(d) => na.saturating_sub((d as i64).saturating_mul(86_400)),
            None => nb + life / 3 * 2,
        };
        Some(at.max(nb + life / 3))
    }
}

/// A newly issued certificate.
pub struct Issued<'a> {
    pub cert_pem: &'a str,
    pub key_pem: &'a str,
    pub issuer: &'a str,
    pub not_before: i64,
    pub not_after: i64,
}

const COLUMNS: &str = "names, cert_pem, key_pem, issuer, not_before, not_after, issued, \
     order_url, last_attempt, last_error, failures, next_attempt, renew_requested";

fn from_row(r: &sqlx::any::AnyRow) -> Result<AcmeCert> {
    Ok(AcmeCert {
        names: r.try_get(0)?,
        cert_pem: r.try_get(1)?,
        key_pem: r.try_get(2)?,
        issuer: r.try_get(3)?,
        not_before: r.try_get(4)?,
        not_after: r.try_get(5)?,
        issued: r.try_get(6)?,
        order_url: r.try_get(7)?,
        last_attempt: r.try_get(8)?,
        last_error: r.try_get(9)?,
        failures: r.try_get(10)?,
        next_attempt: r.try_get(11)?,
        renew_requested: r.try_get(12)?,
    })
}

impl Store {
    /// The ACME account's credentials (JSON) at this CA directory.
    pub async fn acme_account_get(&self, directory: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT credentials FROM acme_accounts WHERE directory = $1")
                .bind(directory)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Keep the account made at this CA directory; the first one written
    /// wins, and is returned (two nodes never hold two accounts).
    pub async fn acme_account_put(&self, directory: &str, credentials: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO acme_accounts (directory, credentials, created) VALUES ($1, $2, $3) \
             ON CONFLICT (directory) DO NOTHING",
        )
        .bind(directory)
        .bind(credentials)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(self
            .acme_account_get(directory)
            .await?
            .unwrap_or_else(|| credentials.to_string()))
    }

    /// Forget the account at this CA directory (the CA no longer knows it).
    pub async fn acme_account_remove(&self, directory: &str) -> Result<()> {
        sqlx::query("DELETE FROM acme_accounts WHERE directory = $1")
            .bind(directory)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The row of one set of names.
    pub async fn acme_cert_get(&self, names: &str) -> Result<Option<AcmeCert>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM acme_certs WHERE names = $1"
        )))
        .bind(names)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every row, newest certificate first (`tern cert status`).
    pub async fn acme_cert_list(&self) -> Result<Vec<AcmeCert>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM acme_certs ORDER BY COALESCE(issued, 0) DESC, names"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn acme_cert_ensure(&self, names: &str) -> Result<()> {
        sqlx::query("INSERT INTO acme_certs (names) VALUES ($1) ON CONFLICT (names) DO NOTHING")
            .bind(names)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Remember the order being worked on (or forget it: `None`).
    pub async fn acme_cert_order(&self, names: &str, url: Option<&str>) -> Result<()> {
        self.acme_cert_ensure(names).await?;
        sqlx::query("UPDATE acme_certs SET order_url = $1, last_attempt = $2 WHERE names = $3")
            .bind(url)
            .bind(now_secs())
            .bind(names)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A new certificate: served from now on, the error and the backoff
    /// and any request cleared.
    pub async fn acme_cert_issued(&self, names: &str, c: &Issued<'_>) -> Result<()> {
        self.acme_cert_ensure(names).await?;
        sqlx::query(
            "UPDATE acme_certs SET cert_pem = $1, key_pem = $2, issuer = $3, not_before = $4, \
             not_after = $5, issued = $6, order_url = NULL, last_error = NULL, failures = 0, \
             next_attempt = 0, renew_requested = 0 WHERE names = $7",
        )
        .bind(c.cert_pem)
        .bind(c.key_pem)
        .bind(c.issuer)
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(now_secs())
        .bind(names)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A failed attempt: why, and no new one before `next_attempt`. A
    /// request stays until an attempt succeeds.
    pub async fn acme_cert_failed(
        &self,
        names: &str,
        error: &str,
        next_attempt: i64,
    ) -> Result<()> {
        self.acme_cert_ensure(names).await?;
        // Bounded: a CA's problem document is the CA's to size.
        let error: String = error.chars().take(1000).collect();
        sqlx::query(
            "UPDATE acme_certs SET last_error = $1, failures = failures + 1, next_attempt = $2, \
             last_attempt = $3 WHERE names = $4",
        )
        .bind(error)
        .bind(next_attempt)
        .bind(now_secs())
        .bind(names)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// `tern cert renew`: ask the running server(s) to renew every
    /// certificate (`force`: even one not yet due), now, whatever the
    /// backoff; a forced request already pending stays forced. Returns how
    /// many sets of names were asked.
    pub async fn acme_renew_request(&self, force: bool) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE acme_certs SET next_attempt = 0, \
             renew_requested = CASE WHEN renew_requested = 2 THEN 2 ELSE $1 END",
        )
        .bind(if force { 2i64 } else { 1 })
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// Publish a challenge's answer for `ttl_secs`: under `http-01:<token>`
    /// the key authorization (RFC 8555 8.3), under `tls-alpn-01:<name>` the
    /// hex SHA-256 digest of it (RFC 8737 3).
    pub async fn acme_answer_put(&self, key: &str, answer: &str, ttl_secs: i64) -> Result<()> {
        let now = now_secs();
        sqlx::query("DELETE FROM acme_answers WHERE expires < $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO acme_answers (key, answer, expires) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET answer = $2, expires = $3",
        )
        .bind(key)
        .bind(answer)
        .bind(now + ttl_secs)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The answer published under `key`, unless expired.
    pub async fn acme_answer_get(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT answer FROM acme_answers WHERE key = $1 AND expires >= $2")
                .bind(key)
                .bind(now_secs())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Withdraw an answer once its challenge is over.
    pub async fn acme_answer_remove(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM acme_answers WHERE key = $1")
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_certificate_row_goes_from_failure_to_issued_and_back_to_requested() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open_sqlite_for_tests(d.path()).await.unwrap();
        let names = "a.example mx.example";
        assert_eq!(s.acme_cert_get(names).await.unwrap(), None);
        s.acme_cert_failed(names, "CA down", 100).await.unwrap();
        let r = s.acme_cert_get(names).await.unwrap().unwrap();
        assert_eq!((r.failures, r.next_attempt), (1, 100));
        assert_eq!(r.last_error.as_deref(), Some("CA down"));
        let c = Issued {
            cert_pem: "C",
            key_pem: "K",
            issuer: "I",
            not_before: 1,
            not_after: 2,
        };
        s.acme_cert_issued(names, &c).await.unwrap();
        let r = s.acme_cert_get(names).await.unwrap().unwrap();
        assert_eq!((r.failures, r.last_error, r.not_after), (0, None, Some(2)));
        assert_eq!(s.acme_renew_request(true).await.unwrap(), 1);
        let r = s.acme_cert_get(names).await.unwrap().unwrap();
        assert_eq!(r.renew_requested, 2);
    }

    #[tokio::test]
    async fn the_first_account_written_wins_and_answers_expire() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open_sqlite_for_tests(d.path()).await.unwrap();
        assert_eq!(s.acme_account_put("u", "one").await.unwrap(), "one");
        assert_eq!(s.acme_account_put("u", "two").await.unwrap(), "one");
        s.acme_answer_put("http-01:t", "t.ka", 60).await.unwrap();
        assert_eq!(
            s.acme_answer_get("http-01:t").await.unwrap().as_deref(),
            Some("t.ka")
        );
        s.acme_answer_put("http-01:old", "x", -1).await.unwrap();
        assert_eq!(s.acme_answer_get("http-01:old").await.unwrap(), None);
        s.acme_answer_remove("http-01:t").await.unwrap();
        assert_eq!(s.acme_answer_get("http-01:t").await.unwrap(), None);
    }
}
