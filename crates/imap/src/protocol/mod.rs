//! The IMAP wire, apart from any session: framing, literals and their
//! limits (`io`), COMPRESS=DEFLATE (`deflate`), the pre-parser
//! (`preparse`), writing strings, flags and dates (`wire`) and modified
//! UTF-7 (`mutf7`). Nothing here knows `Session` or the store; the
//! session modules build on it.
//!
//! # How a command is read
//!
//! 1. `io::Io::read_command` frames one command: the line and every
//!    literal it announces (RFC 9051 4.3, RFC 7888 LITERAL+), each bounded
//!    (`max_line`, `max_literal`, tighter before login), with `{n}`
//!    continuation requests sent only when a literal is accepted. What it
//!    returns is the whole command as bytes, literals inline.
//! 2. `preparse::preparse` scans those bytes once, knowing quoted strings
//!    and literals, and takes off the syntax `imap-codec` does not parse:
//!    UNAUTHENTICATE, SEARCH `RETURN (…)`, the saved result `$`, the
//!    LIST-EXTENDED options and extra patterns, CREATE's `USE (…)`,
//!    STATUS's APPENDLIMIT and APPEND's `UTF8 (…)`. It writes the command
//!    back in IMAP4rev1 grammar — `$` as the sequence number
//!    `preparse::SAVED`, an APPENDLIMIT-only STATUS as `(UIDNEXT)` — and
//!    puts what it took off in `preparse::Extras`.
//! 3. `imap-codec` parses what remains; a command it refuses is BAD.
//!
//! The meaning of one command is therefore split in two places, and the
//! rule that keeps them apart is: `imap-codec`'s value is the command,
//! `Extras` only modifies it. A session reads `Extras` for the command it
//! is executing (and only that one), and every stand-in the pre-parser
//! writes (`SAVED`, the UIDNEXT placeholder) is flagged in `Extras`
//! (`saved`, `status_placeholder`), so the stand-in is never taken at face
//! value.

pub(crate) mod deflate;
pub(crate) mod io;
pub(crate) mod mutf7;
pub(crate) mod preparse;
pub(crate) mod wire;
