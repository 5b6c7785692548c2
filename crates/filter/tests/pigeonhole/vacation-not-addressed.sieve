# RFC 5230 4.5: no reply when the user is not in To or Cc...
# message: cc.eml
require "vacation";
vacation "I am away.";
