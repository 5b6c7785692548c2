//! `tern cert status|renew`, through the management layer. A renewal is
//! asked of the running server through the store: every node sees it,
//! and the one holding the ACME lease orders.

use tern_common::Config;
use tern_common::time::iso8601;
use tern_manage::Scope;

use crate::Failure;
use crate::admin::{fail, manager};
use crate::cli::CertCmd;

pub async fn run(config: &Config, cmd: CertCmd) -> Result<(), Failure> {
    let m = manager(config).await?;
    match cmd {
        CertCmd::Status { json } => {
            let all = m.cert_status(&Scope::Admin).await.map_err(fail)?;
            if json {
                let out = serde_json::to_string_pretty(&all)
                    .map_err(|e| Failure::Runtime(e.to_string()))?;
                println!("{out}");
                return Ok(());
            }
            if all.is_empty() {
                println!("no ACME certificate yet");
            }
            let when = |t: Option<i64>| t.map_or_else(|| "-".to_string(), iso8601);
            for c in all {
                println!("names: {}", c.names.join(" "));
                println!("  issuer: {}", c.issuer.as_deref().unwrap_or("-"));
                println!("  expires: {}", when(c.not_after));
                println!("  next renewal: {}", when(c.renew_at));
                if let Some(t) = c.retry_after {
                    println!("  retry after: {}", iso8601(t));
                }
                if let Some(r) = &c.requested {
                    println!("  requested: {r}");
                }
                if let Some(o) = &c.order {
                    println!("  order in progress: {o}");
                }
                println!("  last error: {}", c.last_error.as_deref().unwrap_or("-"));
            }
        }
        CertCmd::Renew { force } => {
            let n = m.cert_renew(&Scope::Admin, force).await.map_err(fail)?;
            if n == 0 {
                println!("no ACME certificate yet; the server orders one by itself");
            } else {
                println!("renewal asked for {n} certificate(s); the running server orders it");
            }
        }
    }
    Ok(())
}
