/*
 * SPDX-FileCopyrightText: 2020 Stalwart Labs Ltd <hello@stalw.art>
 *
 * SPDX-License-Identifier: AGPL-3.0-only OR LicenseRef-SEL
 */

pub mod test_address;
pub mod test_body;
pub mod test_date;
pub mod test_duplicate;
pub mod test_envelope;
pub mod test_environment;
pub mod test_exists;
pub mod test_extlists;
pub mod test_hasflag;
pub mod test_header;
pub mod test_ihave;
pub mod test_mailbox;
pub mod test_mailboxid;
pub mod test_notify;
pub mod test_size;
pub mod test_spamtest;
pub mod test_specialuse;
pub mod test_string;
