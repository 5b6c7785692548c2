//! `tern token create|list|revoke`: API tokens, through the management
//! layer (`tern_manage`), which the JSON API shares. A token's secret is
//! printed once, when it is made: the store keeps only its hash.

use tern_common::Config;
use tern_common::time::now_secs;
use tern_manage::{NewToken, Scope, TokenInfo};

use crate::Failure;
use crate::admin::{fail, manager};
use crate::cli::{TokenCmd, format_time, format_when};

/// One line of `tern token list`: id, name, scope, and its dates.
fn line(t: &TokenInfo, now: i64) -> String {
    let expiry = match t.expires {
        Some(e) if e <= now => format!("expired {}", format_time(e)),
        e => format!("expires {}", format_when(e)),
    };
    format!(
        "{}\t{}\t{}\tcreated {}\t{expiry}\tlast used {}",
        t.id,
        t.name,
        t.scope,
        format_time(t.created),
        format_when(t.last_used)
    )
}

pub async fn run(config: &Config, cmd: TokenCmd) -> Result<(), Failure> {
    let m = manager(config).await?;
    match cmd {
        TokenCmd::Create {
            name,
            scope,
            expires_days,
        } => {
            let new = NewToken {
                name,
                scope: Some(scope),
                expires_days,
            };
            let made = m.token_create(&Scope::Admin, &new).await.map_err(fail)?;
            let t = &made.token;
            println!(
                "token {:?} created (id {}, scope {}, expires {})",
                t.name,
                t.id,
                t.scope,
                format_when(t.expires)
            );
            println!("secret: {}", made.secret);
            println!("This secret will not be shown again: tern keeps only its hash.");
        }
        TokenCmd::List => {
            let now = now_secs();
            for t in m.token_list(&Scope::Admin).await.map_err(fail)? {
                println!("{}", line(&t, now));
            }
        }
        TokenCmd::Revoke { token } => {
            let t = m.token_revoke(&Scope::Admin, &token).await.map_err(fail)?;
            println!("token {:?} (id {}) revoked", t.name, t.id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lines_say_when_a_token_expired() {
        let t = TokenInfo {
            id: 3,
            name: "ci".into(),
            scope: "domain:example.org".into(),
            created: 0,
            expires: Some(86_400),
            last_used: None,
        };
        assert_eq!(
            line(&t, 10),
            "3\tci\tdomain:example.org\tcreated 1970-01-01T00:00:00Z\texpires 1970-01-02T00:00:00Z\tlast used never"
        );
        assert!(line(&t, 86_400).contains("\texpired 1970-01-02T00:00:00Z\t"));
    }
}
