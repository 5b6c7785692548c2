# RFC 5230 4.6: no reply to bulk mail.
# message: bulk.eml
require "vacation";
vacation "I am away.";
