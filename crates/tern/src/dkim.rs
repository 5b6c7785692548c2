//! `tern dkim keygen|list`.

use tern_common::Config;
use tern_manage::Scope;

use crate::Failure;
use crate::cli::DkimCmd;

pub async fn run(config: &Config, cmd: DkimCmd) -> Result<(), Failure> {
    let m = crate::admin::manager(config).await?;
    match cmd {
        DkimCmd::Keygen {
            domain,
            selector,
            algo,
        } => {
            let r = m
                .dkim_generate(&Scope::Admin, &domain, selector.as_deref(), &algo)
                .await
                .map_err(crate::admin::fail)?;
            println!("DKIM key stored; publish this record:");
            println!("{}", r.zone_line());
        }
        DkimCmd::List { domain } => {
            let keys = m
                .dkim_list(&Scope::Admin, domain.as_deref())
                .await
                .map_err(crate::admin::fail)?;
            for k in keys {
                println!(
                    "{}\t{}\t{}\t{}",
                    k.domain,
                    k.selector,
                    k.algorithm,
                    k.record.zone_line()
                );
            }
        }
    }
    Ok(())
}
