//! The one Sieve compiler (sieve-rs 0.7.3) with tern's limits: a script of
//! at most `MAX_SCRIPT_SIZE` bytes, 15 nested blocks and tests, 6
//! includes; and only the extensions `sieve_extensions` lists
//! (`require.rs`). ManageSieve, the CLI, the API and delivery all judge a
//! script here, one way.

use serde::Serialize;
use utoipa::ToSchema;

use crate::require::required;

/// The largest script tern compiles or stores (RFC 5804 `MAXSCRIPTSIZE`
/// is the store's limit, the same number).
pub const MAX_SCRIPT_SIZE: usize = 64 * 1024;

/// Why a script does not compile, and where (1-based; a column counts
/// characters from the start of the line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScriptError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// The extensions sieve-rs knows that tern does not carry out, so neither
/// offered (ManageSieve's SIEVE capability, `ihave`) nor accepted in
/// `require`: external lists, mailbox ids and metadata (tern has neither
/// OBJECTID nor METADATA), IMAPSIEVE (not delivery), `convert`, and the
/// DELIVERBY parts (the queue does not implement RFC 2852).
pub(crate) const NOT_OFFERED: &[&str] = &[
    "extlists",
    "mailboxid",
    "mboxmetadata",
    "servermetadata",
    "imapsieve",
    "convert",
    "redirect-deliverby",
    "envelope-deliverby",
    "comparator-elbonia",
];

/// The compiler with tern's limits.
pub(crate) fn compiler() -> sieve::Compiler {
    sieve::Compiler::new()
        .with_max_script_size(MAX_SCRIPT_SIZE)
        .with_max_nested_blocks(15)
        .with_max_nested_tests(15)
        .with_max_includes(6)
}

/// Whether `script` compiles; the script as text when it does. A script is
/// UTF-8 (RFC 5228 2.2); bytes that are not are refused where they start.
pub fn check_script(script: &[u8]) -> std::result::Result<String, ScriptError> {
    compiled(script)?;
    // `compiled` refused anything that is not UTF-8.
    Ok(String::from_utf8_lossy(script).into_owned())
}

/// `script` compiled, or why it does not compile and where.
pub fn compiled(script: &[u8]) -> std::result::Result<sieve::Sieve, ScriptError> {
    let text = match std::str::from_utf8(script) {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = position(&script[..e.valid_up_to()]);
            return Err(ScriptError {
                line,
                column,
                message: "the script is not UTF-8".into(),
            });
        }
    };
    if let Some(at) = text.find('\0') {
        let (line, column) = position(&script[..at]);
        return Err(ScriptError {
            line,
            column,
            message: "a script has no NUL characters".into(),
        });
    }
    // Uploads are hostile input: should the compiler panic on one, the
    // script is refused, and the session or command goes on.
    let compiled = std::panic::catch_unwind(|| compiler().compile(script));
    let Ok(compiled) = compiled else {
        return Err(ScriptError {
            line: 1,
            column: 1,
            message: "the compiler failed on this script".into(),
        });
    };
    match compiled {
        Ok(sieve) => {
            // RFC 5228 3.2: an extension tern does not offer fails the
            // script, where sieve-rs would take it.
            let known = sieve_extensions();
            match required(text)
                .into_iter()
                .find(|r| !known.contains(&r.name))
            {
                Some(r) => Err(ScriptError {
                    line: r.line,
                    column: r.column,
                    message: format!("Unsupported extension {:?}", r.name),
                }),
                None => Ok(sieve),
            }
        }
        Err(e) => {
            // sieve-rs counts lines and columns from 1 (the column of the
            // token at fault).
            let full = e.to_string();
            let message = match full.rfind(" at line ") {
                Some(i) => full[..i].to_string(),
                None => full,
            };
            Err(ScriptError {
                line: e.line_num().max(1),
                column: e.line_pos().max(1),
                message,
            })
        }
    }
}

/// `check_script` on the blocking pool: a large script takes a while to
/// compile (tens of milliseconds for 64 KiB of regexes), which an async
/// worker serving other sessions must not spend.
pub async fn check_script_blocking(script: &[u8]) -> std::result::Result<String, ScriptError> {
    let owned = script.to_vec();
    match tokio::task::spawn_blocking(move || check_script(&owned)).await {
        Ok(r) => r,
        Err(_) => Err(ScriptError {
            line: 1,
            column: 1,
            message: "the compiler failed on this script".into(),
        }),
    }
}

/// The 1-based line and column just after `before`.
fn position(before: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(before);
    let line = text.matches('\n').count() + 1;
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The extensions the compiler accepts in `require`, as ManageSieve's
/// SIEVE capability lists them (RFC 5804 1.7): the standard ones that
/// delivery carries out, without sieve-rs's own (`vnd.stalwart.*`) and
/// those in `NOT_OFFERED`.
pub fn sieve_extensions() -> Vec<String> {
    sieve::compiler::grammar::Capability::all()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !c.starts_with("vnd.") && !NOT_OFFERED.contains(&c.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_compile_or_say_where_they_do_not() {
        let ok = b"require [\"fileinto\", \"imap4flags\"];\r\n\
                   if header :contains \"subject\" \"[list]\" {\r\n\
                   \x20 addflag \"\\\\Seen\";\r\n\
                   \x20 fileinto \"Lists\";\r\n\
                   }\r\n";
        assert!(check_script(ok).is_ok(), "{:?}", check_script(ok));
        let e = check_script(b"keep;\nif true {\n  fileinto \"x\";\n}\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3), "{e:?}");
        assert!(e.message.contains("fileinto"), "{e:?}");
        let e = check_script(b"keep;\n\nif true { keep;\n").unwrap_err();
        assert!(e.line >= 3, "{e:?}");
        let e = check_script(b"keep;\n  stop\xff;").unwrap_err();
        assert_eq!((e.line, e.column), (2, 7), "{e:?}");
        let e = check_script(b"keep;\0").unwrap_err();
        assert_eq!((e.line, e.column), (1, 6), "{e:?}");
        assert_eq!(
            e.to_string(),
            "line 1, column 6: a script has no NUL characters"
        );
    }

    #[test]
    fn extensions_are_the_standard_ones() {
        let ext = sieve_extensions();
        for want in [
            "fileinto",
            "vacation",
            "imap4flags",
            "include",
            "comparator-i;ascii-numeric",
        ] {
            assert!(ext.iter().any(|e| e == want), "{want} in {ext:?}");
        }
        assert!(ext.iter().all(|e| !e.starts_with("vnd.")), "{ext:?}");
    }
}
