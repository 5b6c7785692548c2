//! Domains, accounts, addresses, aliases and credentials.

use sqlx::Row;
use tern_common::time::now_secs;
use tern_common::{Address, normalize_domain};

use crate::mail::{MailboxSel, SPECIAL_MAILBOXES};
use crate::password::{check_password, hash_password};
use crate::{AccountId, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    pub catch_all: Option<String>,
    pub accounts: i64,
}

/// A domain's own greylisting and tarpitting, over the configuration's:
/// `None` follows `[greylist]`/`[tarpit]`, `Some(0)` is off, more is on
/// with that delay (greylisting in seconds, the tarpit's first step in
/// milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DomainPolicy {
    pub greylist_secs: Option<u64>,
    pub tarpit_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    /// The primary address, which is also the login name.
    pub name: String,
    /// Bytes; 0 means unlimited.
    pub quota: u64,
    pub used: u64,
    /// Every address that delivers to the account, the primary one first.
    pub addresses: Vec<String>,
    /// It may not log in (its mail is still delivered).
    pub disabled: bool,
    /// It may use the web admin (`/admin`).
    pub admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub address: String,
    pub targets: Vec<String>,
}

/// An account a message is delivered to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub account_id: AccountId,
    pub account: String,
}

/// What an envelope recipient means here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Deliver to these accounts (deduplicated) and forward to these remote
    /// addresses (from aliases with remote targets).
    Local {
        accounts: Vec<Target>,
        remote: Vec<Address>,
    },
    /// The domain is ours but nobody has that address.
    UnknownUser,
    /// The domain is not ours.
    NotLocal,
}

/// How deep alias chains may go before they are treated as a loop.
const MAX_ALIAS_DEPTH: usize = 8;

impl Store {
    // ---- domains ----------------------------------------------------------

    pub async fn domain_add(&self, name: &str) -> Result<String> {
        let name = normalize_domain(name).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let r = sqlx::query(
            "INSERT INTO domains (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&name)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Duplicate(format!("domain {name}")));
        }
        Ok(name)
    }

    pub async fn domain_list(&self) -> Result<Vec<Domain>> {
        let rows = sqlx::query(
            "SELECT d.name, d.catch_all, (SELECT COUNT(*) FROM accounts a WHERE a.domain_id = d.id) \
             FROM domains d ORDER BY d.name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Domain {
                    name: r.try_get(0)?,
                    catch_all: r.try_get(1)?,
                    accounts: r.try_get(2)?,
                })
            })
            .collect()
    }

    async fn domain_id(&self, name: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM domains WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn is_local_domain(&self, name: &str) -> Result<bool> {
        let Ok(name) = normalize_domain(name) else {
            return Ok(false);
        };
        Ok(self.domain_id(&name).await?.is_some())
    }

    /// A local domain's own policy; `None` for a domain not here.
    pub async fn domain_policy(&self, name: &str) -> Result<Option<DomainPolicy>> {
        let Ok(name) = normalize_domain(name) else {
            return Ok(None);
        };
        let row: Option<(Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT greylist_secs, tarpit_ms FROM domains WHERE name = $1")
                .bind(&name)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(g, t)| DomainPolicy {
            greylist_secs: g.map(|v| v.max(0) as u64),
            tarpit_ms: t.map(|v| v.max(0) as u64),
        }))
    }

    pub async fn domain_set_policy(&self, name: &str, p: &DomainPolicy) -> Result<()> {
        let name = normalize_domain(name).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let r =
            sqlx::query("UPDATE domains SET greylist_secs = $1, tarpit_ms = $2 WHERE name = $3")
                .bind(p.greylist_secs.map(|v| v.min(i64::MAX as u64) as i64))
                .bind(p.tarpit_ms.map(|v| v.min(i64::MAX as u64) as i64))
                .bind(&name)
                .execute(self.pool())
                .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("domain {name}")));
        }
        Ok(())
    }

    /// Remove a domain. With accounts still in it, refuses unless `force`,
    /// which removes the accounts (and their mail) too.
    pub async fn domain_remove(&self, name: &str, force: bool) -> Result<()> {
        let name = normalize_domain(name).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let id = self
            .domain_id(&name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("domain {name}")))?;
        let accounts: Vec<String> =
            sqlx::query_scalar("SELECT name FROM accounts WHERE domain_id = $1")
                .bind(id)
                .fetch_all(self.pool())
                .await?;
        if !accounts.is_empty() && !force {
            return Err(StoreError::DomainNotEmpty {
                domain: name,
                accounts: accounts.len() as i64,
            });
        }
        for a in &accounts {
            let addr = Address::parse(a).map_err(|e| StoreError::Invalid(e.to_string()))?;
            self.account_remove(&addr).await?;
        }
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM aliases WHERE domain_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM addresses WHERE domain_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // A domain added again later starts without the old MTA-STS policy.
        sqlx::query("DELETE FROM mta_sts WHERE domain = $1")
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM domains WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Set (or clear) where mail for unknown local parts of a domain goes.
    pub async fn domain_set_catch_all(&self, domain: &str, target: Option<&Address>) -> Result<()> {
        let domain = normalize_domain(domain).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let r = sqlx::query("UPDATE domains SET catch_all = $1 WHERE name = $2")
            .bind(target.map(|t| t.to_string()))
            .bind(&domain)
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("domain {domain}")));
        }
        Ok(())
    }

    // ---- accounts -----------------------------------------------------------

    /// Create an account for `address` (its login name) with its standard
    /// mailboxes. `quota` in bytes, 0 for none.
    pub async fn account_add(
        &self,
        address: &Address,
        password: &str,
        quota: u64,
    ) -> Result<Account> {
        check_password(password)?;
        let domain_id = self
            .domain_id(address.domain())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("domain {}", address.domain())))?;
        self.check_new_address(address, domain_id).await?;
        let name = address.to_string();
        if self.address_owner(&name).await?.is_some() || self.alias_exists(&name).await? {
            return Err(StoreError::Duplicate(format!("address {name}")));
        }
        let pw = password.to_string();
        let secret = crate::hashing::run(move || hash_password(&pw)).await??;
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (name, domain_id, secret, quota, created) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&name)
        .bind(domain_id)
        .bind(&secret)
        .bind(quota as i64)
        .bind(now_secs())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate(format!("account {name}")),
            e => e.into(),
        })?;
        sqlx::query("INSERT INTO addresses (address, account_id, domain_id) VALUES ($1, $2, $3)")
            .bind(&name)
            .bind(id)
            .bind(domain_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The mailboxes an account starts with are subscribed, so that a
        // client showing only subscribed mailboxes shows them; one a
        // client creates is not (RFC 3501 6.3.3 leaves that to it).
        for (mbox, special) in SPECIAL_MAILBOXES {
            self.mailbox_create(id, mbox, *special).await?;
            self.subscription_set(id, mbox, true).await?;
        }
        self.account_get(address)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account {name}")))
    }

    /// Add another address that delivers to an existing account.
    pub async fn address_add(&self, account: &Address, address: &Address) -> Result<()> {
        let acc = self
            .account_get(account)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account {account}")))?;
        let domain_id = self
            .domain_id(address.domain())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("domain {}", address.domain())))?;
        let a = address.to_string();
        if self.address_owner(&a).await?.is_some() || self.alias_exists(&a).await? {
            return Err(StoreError::Duplicate(format!("address {a}")));
        }
        self.check_new_address(address, domain_id).await?;
        sqlx::query("INSERT INTO addresses (address, account_id, domain_id) VALUES ($1, $2, $3)")
            .bind(&a)
            .bind(acc.id)
            .bind(domain_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A new address (account, extra address or alias) must be fit to
    /// create (`Address::check_new`: no `/`, no characters UTS #39 keeps
    /// out of identifiers) and must not look like another address of its
    /// domain: `аlice` (Cyrillic а) beside `alice` is refused, as UTS #39 4
    /// skeletons compare equal. The same address (an alias gaining a
    /// target) is not a look-alike of itself.
    async fn check_new_address(&self, address: &Address, domain_id: i64) -> Result<()> {
        address
            .check_new()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let me = address.to_string();
        let skeleton = address.local_skeleton();
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT address FROM addresses WHERE domain_id = $1 \
             UNION SELECT address FROM aliases WHERE domain_id = $1",
        )
        .bind(domain_id)
        .fetch_all(self.pool())
        .await?;
        for name in names.into_iter().filter(|n| *n != me) {
            if let Ok(other) = Address::parse(&name)
                && other.local_skeleton() == skeleton
            {
                return Err(StoreError::Invalid(format!(
                    "{me} looks like the existing address {name} (UTS #39 confusable); choose another"
                )));
            }
        }
        Ok(())
    }

    async fn address_owner(&self, address: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT account_id FROM addresses WHERE address = $1")
                .bind(address)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The account with this id, its usage as of now.
    pub async fn account_by_id(&self, id: i64) -> Result<Option<Account>> {
        let Some(row) = sqlx::query(
            "SELECT id, name, quota, used, disabled, admin FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        self.account_from_row(&row).await.map(Some)
    }

    async fn account_from_row(&self, row: &sqlx::any::AnyRow) -> Result<Account> {
        let id: i64 = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let mut addresses: Vec<String> = sqlx::query_scalar(
            "SELECT address FROM addresses WHERE account_id = $1 ORDER BY address",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        addresses.retain(|a| *a != name);
        addresses.insert(0, name.clone());
        Ok(Account {
            id,
            name,
            quota: row.try_get::<i64, _>(2)?.max(0) as u64,
            used: row.try_get::<i64, _>(3)?.max(0) as u64,
            addresses,
            disabled: row.try_get::<i64, _>(4)? != 0,
            admin: row.try_get::<i64, _>(5)? != 0,
        })
    }

    pub async fn account_get(&self, address: &Address) -> Result<Option<Account>> {
        let Some(row) = sqlx::query(
            "SELECT id, name, quota, used, disabled, admin FROM accounts WHERE name = $1",
        )
        .bind(address.to_string())
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        self.account_from_row(&row).await.map(Some)
    }

    pub async fn account_list(&self, domain: Option<&str>) -> Result<Vec<Account>> {
        let rows = match domain {
            Some(d) => {
                let d = normalize_domain(d).map_err(|e| StoreError::Invalid(e.to_string()))?;
                let id = self
                    .domain_id(&d)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("domain {d}")))?;
                sqlx::query(
                    "SELECT id, name, quota, used, disabled, admin FROM accounts WHERE domain_id = $1 ORDER BY name",
                )
                .bind(id)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, name, quota, used, disabled, admin FROM accounts ORDER BY name",
                )
                .fetch_all(self.pool())
                .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.account_from_row(r).await?);
        }
        Ok(out)
    }

    pub async fn account_set_password(&self, address: &Address, password: &str) -> Result<()> {
        check_password(password)?;
        let pw = password.to_string();
        let secret = crate::hashing::run(move || hash_password(&pw)).await??;
        let r = sqlx::query("UPDATE accounts SET secret = $1 WHERE name = $2")
            .bind(secret)
            .bind(address.to_string())
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {address}")));
        }
        Ok(())
    }

    /// Disable (or enable again) an account: a disabled one logs in
    /// nowhere; sessions it already opened run on until they end.
    pub async fn account_set_disabled(&self, address: &Address, disabled: bool) -> Result<()> {
        let r = sqlx::query("UPDATE accounts SET disabled = $1 WHERE name = $2")
            .bind(i64::from(disabled))
            .bind(address.to_string())
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {address}")));
        }
        Ok(())
    }

    /// Give (or take away) the admin role: the web admin's pages.
    pub async fn account_set_admin(&self, address: &Address, admin: bool) -> Result<()> {
        let r = sqlx::query("UPDATE accounts SET admin = $1 WHERE name = $2")
            .bind(i64::from(admin))
            .bind(address.to_string())
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {address}")));
        }
        Ok(())
    }

    pub async fn account_set_quota(&self, address: &Address, quota: u64) -> Result<()> {
        let r = sqlx::query("UPDATE accounts SET quota = $1 WHERE name = $2")
            .bind(quota as i64)
            .bind(address.to_string())
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {address}")));
        }
        Ok(())
    }

    /// Remove an account, its addresses, its mailboxes and its messages.
    pub async fn account_remove(&self, address: &Address) -> Result<()> {
        let acc = self
            .account_get(address)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account {address}")))?;
        let mut tx = self.write_tx().await?;
        let blob_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id \
             WHERE b.account_id = $1 AND m.blob_id IS NOT NULL",
        )
        .bind(acc.id)
        .fetch_all(&mut *tx)
        .await?;
        for b in blob_ids {
            crate::blob::release_db_blob(&mut tx, b).await?;
        }
        for sql in [
            "DELETE FROM expunged WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = $1)",
            "DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = $1)",
            "DELETE FROM mailboxes WHERE account_id = $1",
            "DELETE FROM addresses WHERE account_id = $1",
            "DELETE FROM accounts WHERE id = $1",
        ] {
            sqlx::query(sql).bind(acc.id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.spam_forget(acc.id).await?;
        crate::blob::remove_account_dir(self.data_dir(), acc.id);
        Ok(())
    }

    /// The name a login's throttles, locks and limits are keyed on: the
    /// account's name when `user` is any address of an account (so every
    /// spelling and every address of one account share one lock), else the
    /// normalised string (`tern_common::address::login_key`).
    pub async fn login_key(&self, user: &str) -> Result<String> {
        let key = tern_common::address::login_key(user);
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT a.name FROM accounts a JOIN addresses d ON d.account_id = a.id WHERE d.address = $1",
        )
        .bind(&key)
        .fetch_optional(self.pool())
        .await?;
        Ok(owner.unwrap_or(key))
    }

    // ---- aliases ------------------------------------------------------------

    async fn alias_exists(&self, address: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aliases WHERE address = $1")
            .bind(address)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }

    /// Make `address` (in a local domain) deliver to `targets`: local
    /// addresses, other aliases, or remote addresses.
    pub async fn alias_add(&self, address: &Address, targets: &[Address]) -> Result<()> {
        if targets.is_empty() {
            return Err(StoreError::Invalid(
                "an alias needs at least one target".into(),
            ));
        }
        let domain_id = self
            .domain_id(address.domain())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("domain {}", address.domain())))?;
        let a = address.to_string();
        if self.address_owner(&a).await?.is_some() {
            return Err(StoreError::Duplicate(format!("{a} is an account address")));
        }
        self.check_new_address(address, domain_id).await?;
        if targets.iter().any(|t| t == address) {
            return Err(StoreError::Invalid(format!(
                "alias {a} cannot point to itself"
            )));
        }
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT target FROM aliases WHERE address = $1")
                .bind(&a)
                .fetch_all(self.pool())
                .await?;
        let new: Vec<String> = targets
            .iter()
            .map(|t| t.to_string())
            .filter(|t| !existing.contains(t))
            .collect();
        if new.is_empty() {
            return Err(StoreError::Duplicate(format!(
                "alias {a} with these targets"
            )));
        }
        let mut tx = self.write_tx().await?;
        for t in new {
            sqlx::query("INSERT INTO aliases (address, target, domain_id) VALUES ($1, $2, $3)")
                .bind(&a)
                .bind(t)
                .bind(domain_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn alias_list(&self, domain: Option<&str>) -> Result<Vec<Alias>> {
        let rows: Vec<(String, String)> = match domain {
            Some(d) => {
                let d = normalize_domain(d).map_err(|e| StoreError::Invalid(e.to_string()))?;
                let id = self
                    .domain_id(&d)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("domain {d}")))?;
                sqlx::query_as("SELECT address, target FROM aliases WHERE domain_id = $1 ORDER BY address, target")
                    .bind(id)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query_as("SELECT address, target FROM aliases ORDER BY address, target")
                    .fetch_all(self.pool())
                    .await?
            }
        };
        let mut out: Vec<Alias> = Vec::new();
        for (address, target) in rows {
            match out.last_mut() {
                Some(last) if last.address == address => last.targets.push(target),
                _ => out.push(Alias {
                    address,
                    targets: vec![target],
                }),
            }
        }
        Ok(out)
    }

    pub async fn alias_remove(&self, address: &Address) -> Result<()> {
        let r = sqlx::query("DELETE FROM aliases WHERE address = $1")
            .bind(address.to_string())
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("alias {address}")));
        }
        Ok(())
    }

    // ---- recipient resolution -----------------------------------------------

    /// Resolve an envelope recipient: account addresses, then aliases, then
    /// the address without its `+tag`, then the domain's catch-all.
    pub async fn resolve(&self, rcpt: &Address) -> Result<Resolution> {
        let Some(domain_id) = self.domain_id(rcpt.domain()).await? else {
            return Ok(Resolution::NotLocal);
        };
        let mut accounts = Vec::new();
        let mut remote = Vec::new();
        let mut candidates = vec![rcpt.clone()];
        if let Some(base) = rcpt.without_tag() {
            candidates.push(base);
        }
        for c in &candidates {
            if self.expand(c, 0, &mut accounts, &mut remote).await? {
                return Ok(Resolution::Local { accounts, remote });
            }
        }
        let catch_all: Option<String> =
            sqlx::query_scalar("SELECT catch_all FROM domains WHERE id = $1")
                .bind(domain_id)
                .fetch_one(self.pool())
                .await?;
        if let Some(ca) = catch_all.and_then(|c| Address::parse(&c).ok())
            && self.expand(&ca, 1, &mut accounts, &mut remote).await?
        {
            return Ok(Resolution::Local { accounts, remote });
        }
        Ok(Resolution::UnknownUser)
    }

    /// Add what `addr` delivers to; false when it names nothing here.
    fn expand<'a>(
        &'a self,
        addr: &'a Address,
        depth: usize,
        accounts: &'a mut Vec<Target>,
        remote: &'a mut Vec<Address>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool>> + Send + 'a>> {
        Box::pin(async move {
            let a = addr.to_string();
            if let Some(row) = sqlx::query(
                "SELECT a.id, a.name FROM accounts a JOIN addresses d ON d.account_id = a.id WHERE d.address = $1",
            )
            .bind(&a)
            .fetch_optional(self.pool())
            .await?
            {
                let t = Target { account_id: row.try_get(0)?, account: row.try_get(1)? };
                if !accounts.contains(&t) {
                    accounts.push(t);
                }
                return Ok(true);
            }
            let targets: Vec<String> =
                sqlx::query_scalar("SELECT target FROM aliases WHERE address = $1")
                    .bind(&a)
                    .fetch_all(self.pool())
                    .await?;
            if targets.is_empty() {
                return Ok(false);
            }
            if depth >= MAX_ALIAS_DEPTH {
                return Err(StoreError::Invalid(format!(
                    "alias chain through {a} is too deep (a loop?)"
                )));
            }
            for t in targets {
                let Ok(t) = Address::parse(&t) else { continue };
                if self.domain_id(t.domain()).await?.is_some() {
                    // A local target that names nothing is skipped; the
                    // other targets still get the message.
                    self.expand(&t, depth + 1, accounts, remote).await?;
                } else if !remote.contains(&t) {
                    remote.push(t);
                }
            }
            Ok(true)
        })
    }

    /// The INBOX-style selector of an account's mailbox, for callers that
    /// only know names.
    pub fn inbox() -> MailboxSel {
        MailboxSel::Name("INBOX".into())
    }
}
