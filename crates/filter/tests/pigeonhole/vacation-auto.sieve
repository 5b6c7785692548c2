# RFC 3834 2: no reply to automatic mail.
# message: auto.eml
require "vacation";
vacation "I am away.";
