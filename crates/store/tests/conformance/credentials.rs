//! API tokens and app passwords, on both backends: only hashes of their
//! secrets reach the database, a token works until it expires or is
//! revoked and within its scope's domain's lifetime, and an app password
//! logs its account in beside the account's password until revoked.

use tern_common::time::now_secs;
use tern_store::{Credential, MAX_APP_PASSWORDS, StoreError, TokenScope};

use super::{Fixture, addr};

/// One text value per row of `sql`, read straight from the database (not
/// through the store): what someone with a copy of it would see.
async fn raw(f: &Fixture, sql: &str) -> Vec<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let url = match &f.pg {
        Some((_, url)) => url.clone(),
        None => format!("sqlite://{}", f._dir.path().join("tern.sqlite").display()),
    };
    let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut c)
        .await
        .unwrap()
}

pub(crate) async fn api_tokens(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let now = now_secs();
    let ci = s
        .token_create("ci", &TokenScope::Admin, None)
        .await
        .unwrap();
    assert!(
        ci.secret.starts_with("tern_") && ci.secret.len() == 69,
        "{ci:?}"
    );
    assert_eq!((ci.token.name.as_str(), ci.token.last_used), ("ci", None));
    let day = 86_400;
    let dom = s
        .token_create(
            "grafana",
            &TokenScope::Domain("example.org".into()),
            Some(now + day),
        )
        .await
        .unwrap();
    assert_eq!(dom.token.scope, TokenScope::Domain("example.org".into()));
    assert_ne!(ci.secret, dom.secret);

    // Refused: a name taken, a domain not ours, an expiry in the past.
    assert!(matches!(
        s.token_create("ci", &TokenScope::Admin, None).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        s.token_create("x", &TokenScope::Domain("nope.example".into()), None)
            .await,
        Err(StoreError::NotFound(m)) if m.contains("nope.example")
    ));
    assert!(matches!(
        s.token_create("old", &TokenScope::Admin, Some(now - 1))
            .await,
        Err(StoreError::Invalid(_))
    ));

    // Listed without secrets; the database holds only their SHA-256.
    let list = s.token_list().await.unwrap();
    let names: Vec<_> = list.iter().map(|t| (t.name.as_str(), &t.scope)).collect();
    assert_eq!(
        names,
        [
            ("ci", &TokenScope::Admin),
            ("grafana", &TokenScope::Domain("example.org".into()))
        ]
    );
    assert_eq!(list[1].expires, Some(now + day));
    let stored = raw(
        &f,
        "SELECT name || ' ' || scope || ' ' || secret_hash FROM api_tokens",
    )
    .await;
    assert_eq!(stored.len(), 2);
    for row in &stored {
        for secret in [&ci.secret, &dom.secret] {
            assert!(!row.contains(&secret[5..]), "{row} holds a secret");
        }
        assert_eq!(row.rsplit(' ').next().unwrap().len(), 64, "{row}");
    }

    // A secret finds its token and marks it used, to the minute.
    let t = s.token_verify(&ci.secret, now).await.unwrap().unwrap();
    assert_eq!((t.id, t.last_used), (ci.token.id, Some(now)));
    let t = s.token_verify(&ci.secret, now + 30).await.unwrap().unwrap();
    assert_eq!(t.last_used, Some(now), "not rewritten within the minute");
    let t = s.token_verify(&ci.secret, now + 90).await.unwrap().unwrap();
    assert_eq!(t.last_used, Some(now + 90));
    let listed = s.token_list().await.unwrap();
    assert_eq!(listed[0].last_used, Some(now + 90));
    // Not a secret of ours, one never made, one with a wrong last digit.
    assert_eq!(s.token_verify("garbage", now).await.unwrap(), None);
    let never = format!("tern_{}", "0".repeat(64));
    assert_eq!(s.token_verify(&never, now).await.unwrap(), None);
    let mut near = ci.secret.clone();
    let last = if near.ends_with('0') { "1" } else { "0" };
    near.replace_range(near.len() - 1.., last);
    assert_eq!(s.token_verify(&near, now).await.unwrap(), None);

    // Expired: refused from its expiry on.
    let t = s
        .token_verify(&dom.secret, now + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.scope, TokenScope::Domain("example.org".into()));
    assert_eq!(s.token_verify(&dom.secret, now + day).await.unwrap(), None);

    // Revoked by name, then by id: the secrets work no more.
    assert_eq!(s.token_revoke("ci").await.unwrap().id, ci.token.id);
    assert_eq!(s.token_verify(&ci.secret, now).await.unwrap(), None);
    assert!(matches!(
        s.token_revoke("ci").await,
        Err(StoreError::NotFound(_))
    ));
    let id = dom.token.id.to_string();
    assert_eq!(s.token_revoke(&id).await.unwrap().name, "grafana");
    assert!(s.token_list().await.unwrap().is_empty());

    // A domain's tokens go with it: a domain made again later under the
    // same name is not reachable through them.
    let gone = s
        .token_create("ops", &TokenScope::Domain("example.org".into()), None)
        .await
        .unwrap();
    s.domain_remove("example.org", true).await.unwrap();
    assert!(s.token_list().await.unwrap().is_empty());
    s.domain_add("example.org").await.unwrap();
    assert_eq!(s.token_verify(&gone.secret, now).await.unwrap(), None);
}

pub(crate) async fn app_passwords(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let alice = s
        .account_add(&addr("alice@example.org"), "s3cret", 0)
        .await
        .unwrap();
    let bob = s
        .account_add(&addr("bob@example.org"), "pw", 0)
        .await
        .unwrap();
    let phone = s.app_password_add(alice.id, "phone").await.unwrap();
    let pw = phone.password.clone();
    assert_eq!((pw.len(), pw.matches('-').count()), (19, 3), "{pw}");
    assert!(matches!(
        s.app_password_add(alice.id, " phone ").await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        s.app_password_add(9_999_999, "x").await,
        Err(StoreError::NotFound(_))
    ));
    // Bob may name a device as Alice did.
    s.app_password_add(bob.id, "phone").await.unwrap();

    // The app password logs Alice in, and says so; so does her password.
    let app = Credential::App {
        id: phone.app_password.id,
        name: "phone".into(),
    };
    let login = s.authenticate("alice@example.org", &pw).await.unwrap();
    let login = login.expect("the app password logs in");
    assert_eq!((login.account.id, &login.credential), (alice.id, &app));
    assert_eq!(login.credential.app_password(), Some("phone"));
    // As typed on a phone: capitals, spaces instead of dashes.
    let typed = pw.to_uppercase().replace('-', " ");
    let login = s.authenticate("alice@example.org", &typed).await.unwrap();
    assert_eq!(login.map(|l| l.credential), Some(app.clone()));
    let login = s.authenticate("alice@example.org", "s3cret").await.unwrap();
    assert_eq!(login.map(|l| l.credential), Some(Credential::Password));
    // Not Bob's, not another shape-alike, not for an unknown user.
    for (user, pass) in [
        ("bob@example.org", pw.as_str()),
        ("alice@example.org", "abcd-efgh-jkmn-pqrs"),
        ("nobody@example.org", pw.as_str()),
    ] {
        assert!(
            s.authenticate(user, pass).await.unwrap().is_none(),
            "{user} {pass}"
        );
    }

    // Listed with its last use; the database holds its argon2id hash and
    // its selector (the first group), never the rest.
    let list = s.app_password_list(alice.id).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "phone");
    assert!(list[0].last_used.is_some_and(|t| t >= list[0].created));
    let stored = raw(
        &f,
        "SELECT name || ' ' || selector || ' ' || secret FROM app_passwords",
    )
    .await;
    assert_eq!(stored.len(), 2);
    let hidden = pw.replace('-', "");
    for row in &stored {
        assert!(!row.contains(&hidden[4..]), "{row} holds the password");
        assert!(row.contains(" $argon2id$"), "{row}");
    }

    // Revoked: it logs in no more; the account's password still does.
    s.app_password_revoke(alice.id, "phone").await.unwrap();
    assert!(
        s.authenticate("alice@example.org", &pw)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.authenticate("alice@example.org", "s3cret")
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        s.app_password_revoke(alice.id, "phone").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.app_password_list(alice.id).await.unwrap().is_empty());

    // At most MAX_APP_PASSWORDS per account; the next is refused, saying so.
    for i in 0..MAX_APP_PASSWORDS {
        s.app_password_add(alice.id, &format!("device {i}"))
            .await
            .unwrap();
    }
    match s.app_password_add(alice.id, "one more").await {
        Err(StoreError::Invalid(m)) => assert!(m.contains("20 app passwords"), "{m}"),
        other => panic!("the 21st app password: {other:?}"),
    }

    // They go with their account.
    s.account_remove(&addr("alice@example.org")).await.unwrap();
    assert!(s.app_password_list(alice.id).await.unwrap().is_empty());
    assert_eq!(s.app_password_list(bob.id).await.unwrap().len(), 1);
}

/// A disabled account logs in with neither its password nor an app
/// password, still receives mail, and logs in again once enabled.
pub(crate) async fn disabled_accounts(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = addr("dora@example.org");
    let dora = s.account_add(&a, "s3cret", 0).await.unwrap();
    assert!(!dora.disabled);
    let app = s.app_password_add(dora.id, "phone").await.unwrap();
    s.account_set_disabled(&a, true).await.unwrap();
    assert!(s.account_get(&a).await.unwrap().unwrap().disabled);
    assert!(
        s.authenticate("dora@example.org", "s3cret")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.authenticate("dora@example.org", &app.password)
            .await
            .unwrap()
            .is_none()
    );
    // Mail still arrives.
    assert!(matches!(
        s.resolve(&a).await.unwrap(),
        tern_store::Resolution::Local { .. }
    ));
    s.account_set_disabled(&a, false).await.unwrap();
    assert!(
        s.authenticate("dora@example.org", "s3cret")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.authenticate("dora@example.org", &app.password)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        s.account_set_disabled(&addr("nobody@example.org"), true)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

/// The SRS secret is made once, shared by every caller (every node), and
/// a rotation keeps the previous one verifying.
pub(crate) async fn srs_secrets(f: Fixture) {
    let s = &f.store;
    let first = s.srs_secret().await.unwrap();
    assert_eq!(s.srs_secret().await.unwrap(), first);
    let now = now_secs();
    let addr = s
        .srs()
        .await
        .unwrap()
        .forward("carol@remote.example", "example.org", now)
        .unwrap();
    let local = addr.rsplit_once('@').unwrap().0.to_string();
    let second = s.srs_rotate().await.unwrap();
    assert_ne!(second, first);
    assert_eq!(s.srs_secret().await.unwrap(), second);
    let srs = s.srs().await.unwrap();
    assert_eq!(
        srs.reverse(&local, now).as_deref(),
        Ok("carol@remote.example")
    );
    let fresh = srs
        .forward("carol@remote.example", "example.org", now)
        .unwrap();
    assert_ne!(fresh, addr, "new addresses are signed with the new secret");
}
