//! The management layer against a real store (SQLite in a temporary
//! directory): what each operation does, what it refuses and with which
//! code and field, and what a domain scope may see.

use std::sync::Arc;

use tern_common::config::{ListenerKind, StoreConfig, StoreKind};
use tern_manage::{Code, Manager, NewPassword, NewUser, PageRequest, Scope};
use tern_store::Store;

async fn manager(dir: &std::path::Path) -> Manager {
    let store = Store::open(
        &StoreConfig {
            kind: StoreKind::Sqlite,
            url: None,
            max_connections: 2,
        },
        dir,
    )
    .await
    .expect("store");
    let mut config = tern_common::config::embedded_default(|_| true);
    config.hostname = "mail.example.org".into();
    Manager::new(store, Arc::new(config))
}

fn user(address: &str) -> NewUser {
    NewUser {
        address: address.into(),
        password: Some("correct horse battery staple".into()),
        ..NewUser::default()
    }
}

#[tokio::test]
async fn domains_and_users_are_managed_once_for_every_caller() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path()).await;
    let admin = Scope::Admin;
    let made = m.domain_add(&admin, "Example.ORG", true).await.unwrap();
    assert_eq!(made.name, "example.org");
    assert_eq!(made.dkim.len(), 2, "RSA and Ed25519 keys");
    assert!(
        made.dkim
            .iter()
            .all(|r| r.kind == "TXT" && r.name.ends_with("._domainkey.example.org."))
    );
    m.domain_add(&admin, "example.com", false).await.unwrap();

    // A duplicate is a conflict; a bad name names its field.
    assert_eq!(
        m.domain_add(&admin, "example.org", false)
            .await
            .unwrap_err()
            .code,
        Code::Conflict
    );
    let e = m
        .domain_add(&admin, "not a domain", false)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        (Code::Invalid, Some("domain"))
    );

    // A generated password is returned once; a given one is not echoed.
    let created = m
        .user_add(
            &admin,
            &NewUser {
                address: "ann@example.org".into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap();
    let pw = created.password.expect("a generated password");
    assert!(
        m.store()
            .authenticate("ann@example.org", &pw)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        m.user_add(&admin, &user("bob@example.com"))
            .await
            .unwrap()
            .password,
        None
    );
    let weak = NewUser {
        password: Some("1234".into()),
        ..user("cy@example.org")
    };
    let e = m.user_add(&admin, &weak).await.unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        (Code::Invalid, Some("password"))
    );
    assert_eq!(
        m.user_add(&admin, &user("ann@example.org"))
            .await
            .unwrap_err()
            .code,
        Code::Conflict
    );

    // A domain scope sees and changes its domain only.
    let org = Scope::parse("domain:example.org").unwrap();
    let domains = m.domain_list(&org, &PageRequest::default()).await.unwrap();
    assert_eq!(
        domains
            .items
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        ["example.org"]
    );
    let users = m
        .user_list(&org, None, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        users
            .items
            .iter()
            .map(|u| u.address.as_str())
            .collect::<Vec<_>>(),
        ["ann@example.org"]
    );
    assert_eq!(
        m.user_get(&org, "bob@example.com").await.unwrap_err().code,
        Code::Forbidden
    );
    assert_eq!(
        m.user_add(&org, &user("eve@example.com"))
            .await
            .unwrap_err()
            .code,
        Code::Forbidden
    );
    assert_eq!(
        m.domain_add(&org, "example.net", false)
            .await
            .unwrap_err()
            .code,
        Code::Forbidden
    );
    assert_eq!(
        m.queue_list(&org, &PageRequest::default())
            .await
            .unwrap_err()
            .code,
        Code::Forbidden
    );
    m.user_add(&org, &user("dan@example.org")).await.unwrap();

    // Password and quota.
    let new = m
        .user_set_password(&org, "dan@example.org", &NewPassword::default())
        .await
        .unwrap()
        .expect("a generated password");
    assert!(
        m.store()
            .authenticate("dan@example.org", &new)
            .await
            .unwrap()
            .is_some()
    );
    let u = m
        .user_set_quota(&org, "dan@example.org", 1 << 20)
        .await
        .unwrap();
    assert_eq!(u.quota, 1 << 20);
    assert_eq!(
        m.user_get(&admin, "nobody@example.org")
            .await
            .unwrap_err()
            .code,
        Code::NotFound
    );

    // Aliases and send-as, in scope.
    let a = m
        .alias_add(
            &org,
            "team@example.org",
            &["ann@example.org".into(), "dan@example.org".into()],
        )
        .await
        .unwrap();
    assert_eq!(a.targets.len(), 2);
    let e = m.alias_add(&org, "x@example.org", &[]).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("targets"));
    m.send_as_add(&org, "ann@example.org", "team@example.org")
        .await
        .unwrap();
    assert_eq!(
        m.send_as_list(&org, "ann@example.org").await.unwrap(),
        ["team@example.org"]
    );

    // Removing a domain with accounts is a conflict unless forced.
    assert_eq!(
        m.domain_remove(&admin, "example.com", false)
            .await
            .unwrap_err()
            .code,
        Code::Conflict
    );
    m.domain_remove(&admin, "example.com", true).await.unwrap();
    assert_eq!(
        m.domain_get(&admin, "example.com").await.unwrap_err().code,
        Code::NotFound
    );
}

#[tokio::test]
async fn lists_come_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path()).await;
    m.domain_add(&Scope::Admin, "example.org", false)
        .await
        .unwrap();
    for i in 0..7 {
        m.user_add(&Scope::Admin, &user(&format!("u{i}@example.org")))
            .await
            .unwrap();
    }
    let mut req = PageRequest {
        limit: Some(3),
        cursor: None,
    };
    let mut seen = Vec::new();
    for _ in 0..10 {
        let p = m
            .user_list(&Scope::Admin, Some("example.org"), &req)
            .await
            .unwrap();
        assert!(p.items.len() <= 3);
        seen.extend(p.items.into_iter().map(|u| u.address));
        match p.next_cursor {
            Some(c) => req.cursor = Some(c),
            None => break,
        }
    }
    let want: Vec<String> = (0..7).map(|i| format!("u{i}@example.org")).collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn dns_records_follow_the_configuration_and_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path()).await;
    m.domain_add(&Scope::Admin, "example.org", true)
        .await
        .unwrap();
    let records = m.dns_records(&Scope::Admin, "example.org").await.unwrap();
    let find = |name: &str, kind: &str| {
        records
            .iter()
            .filter(|r| r.name == name && r.kind == kind)
            .map(|r| r.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(find("example.org.", "MX"), ["10 mail.example.org."]);
    assert_eq!(find("example.org.", "TXT"), ["\"v=spf1 mx -all\""]);
    assert_eq!(find("_smtp._tls.example.org.", "TXT").len(), 1);
    assert_eq!(
        records
            .iter()
            .filter(|r| r.name.contains("._domainkey."))
            .count(),
        2
    );
    // RFC 6186: the embedded default's IMAPS port; POP3S is offered too.
    let imaps = m
        .config()
        .listeners
        .iter()
        .find(|l| l.kind == ListenerKind::Imaps)
        .unwrap();
    assert_eq!(
        find("_imaps._tcp.example.org.", "SRV"),
        [format!("0 1 {} mail.example.org.", imaps.port)]
    );
    assert_eq!(find("_submission._tcp.example.org.", "SRV").len(), 1);
    // RFC 5804 1.8: ManageSieve's.
    assert_eq!(find("_sieve._tcp.example.org.", "SRV").len(), 1);
    // MTA-STS only once the domain publishes a policy; its id follows it.
    assert!(find("_mta-sts.example.org.", "TXT").is_empty());
    let p = m
        .store()
        .mta_sts_set("example.org", "enforce", 86400, &[])
        .await
        .unwrap();
    let records = m.dns_records(&Scope::Admin, "example.org").await.unwrap();
    let sts: Vec<String> = records
        .iter()
        .filter(|r| r.name == "_mta-sts.example.org." || r.name == "mta-sts.example.org.")
        .map(|r| r.zone_line())
        .collect();
    assert_eq!(
        sts,
        [
            format!("_mta-sts.example.org. TXT \"v=STSv1; id={}\"", p.id),
            "mta-sts.example.org. CNAME mail.example.org.".to_string()
        ]
    );
    let org = Scope::parse("domain:example.com").unwrap();
    assert_eq!(
        m.dns_records(&org, "example.org").await.unwrap_err().code,
        Code::Forbidden
    );
    assert_eq!(
        m.dns_records(&Scope::Admin, "example.net")
            .await
            .unwrap_err()
            .code,
        Code::NotFound
    );
}

#[tokio::test]
async fn tokens_are_admin_business_and_answer_their_scope() {
    use tern_manage::NewToken;
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path()).await;
    let admin = Scope::Admin;
    m.domain_add(&admin, "example.org", false).await.unwrap();
    let new = |name: &str, scope: Option<&str>, days: Option<u32>| NewToken {
        name: name.into(),
        scope: scope.map(str::to_string),
        expires_days: days,
    };
    let made = m
        .token_create(
            &admin,
            &new("grafana", Some("domain:Example.ORG"), Some(30)),
        )
        .await
        .unwrap();
    assert_eq!(made.token.scope, "domain:example.org");
    assert!(made.token.expires.is_some());
    // What the secret may do is the token's scope; a wrong one, nothing.
    let (info, scope) = m.token_scope(&made.secret).await.unwrap().unwrap();
    assert_eq!(
        (info.name.as_str(), scope),
        ("grafana", Scope::Domain("example.org".into()))
    );
    assert!(info.last_used.is_some(), "its use is recorded");
    assert_eq!(m.token_scope("tern_nope").await.unwrap(), None);

    // Refusals, each with its code and field.
    let org = Scope::Domain("example.org".into());
    let e = m
        .token_create(&org, &new("x", None, None))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::Forbidden, "a domain token makes no tokens");
    assert_eq!(m.token_list(&org).await.unwrap_err().code, Code::Forbidden);
    let e = m
        .token_create(&admin, &new("x", Some("domain:nope.example"), None))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        (Code::NotFound, Some("scope"))
    );
    let e = m
        .token_create(&admin, &new("x", Some("root"), None))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (Code::Invalid, Some("scope")));
    let e = m
        .token_create(&admin, &new("x", None, Some(0)))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        (Code::Invalid, Some("expires_days"))
    );
    let e = m
        .token_create(&admin, &new("grafana", None, None))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (Code::Conflict, Some("name")));

    let listed = m.token_list(&admin).await.unwrap();
    assert_eq!(listed.len(), 1);
    m.token_revoke(&admin, "grafana").await.unwrap();
    assert_eq!(m.token_scope(&made.secret).await.unwrap(), None);
    let e = m.token_revoke(&admin, "grafana").await.unwrap_err();
    assert_eq!(e.code, Code::NotFound);
}

#[tokio::test]
async fn app_passwords_are_managed_in_the_accounts_scope() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path()).await;
    let admin = Scope::Admin;
    m.domain_add(&admin, "example.org", false).await.unwrap();
    m.domain_add(&admin, "example.com", false).await.unwrap();
    m.user_add(&admin, &user("ann@example.org")).await.unwrap();
    m.user_add(&admin, &user("bob@example.com")).await.unwrap();
    let org = Scope::Domain("example.org".into());
    let made = m
        .app_password_add(&org, "ann@example.org", "phone")
        .await
        .unwrap();
    assert_eq!(made.app_password.name, "phone");
    let login = m
        .store()
        .authenticate("ann@example.org", &made.password)
        .await
        .unwrap()
        .expect("the app password logs in");
    assert_eq!(login.credential.app_password(), Some("phone"));
    let list = m.app_password_list(&org, "ann@example.org").await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].last_used.is_some());

    // Another domain's account, an unknown one, a name taken.
    let e = m
        .app_password_add(&org, "bob@example.com", "phone")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::Forbidden);
    let e = m
        .app_password_list(&admin, "nobody@example.org")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::NotFound);
    let e = m
        .app_password_add(&admin, "ann@example.org", "phone")
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (Code::Conflict, Some("name")));

    m.app_password_revoke(&org, "ann@example.org", "phone")
        .await
        .unwrap();
    assert!(
        m.store()
            .authenticate("ann@example.org", &made.password)
            .await
            .unwrap()
            .is_none()
    );
    let e = m
        .app_password_revoke(&org, "ann@example.org", "phone")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::NotFound);
}
