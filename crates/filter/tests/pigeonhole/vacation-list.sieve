# RFC 5230 4.6: no reply to a mailing list.
# message: list.eml
require "vacation";
vacation :addresses "rust-users@lists.example" "I am away.";
