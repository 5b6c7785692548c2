//! `tern verify FILE --ip IP --helo NAME --mail-from ADDR`: the
//! Authentication-Results header tern would add, and what it would do —
//! for operators working out why a message was refused or sent to Junk.

use tern_common::Config;
use tern_mailauth::{Checker, Disposition};

use crate::cli::Verify;
use crate::{Failure, usage};

pub async fn run(config: &Config, v: Verify) -> Result<(), Failure> {
    let message =
        std::fs::read(&v.file).map_err(|e| usage(format!("reading {}: {e}", v.file.display())))?;
    let checker = Checker::new(config).map_err(|e| Failure::Runtime(format!("{e:#}")))?;
    let mail_from = v.mail_from.trim_start_matches('<').trim_end_matches('>');
    let outcome = checker.check(v.ip, &v.helo, mail_from, &message).await;
    print!("{}", outcome.header);
    let verdict = match &outcome.disposition {
        Disposition::Accept => "accept (deliver to the inbox)".to_string(),
        Disposition::Junk => "junk (deliver to the Junk mailbox)".to_string(),
        Disposition::Reject(reply) => format!("reject: {reply}"),
        Disposition::Defer(reply) => format!("defer: {reply}"),
    };
    eprintln!("disposition: {verdict}");
    Ok(())
}
