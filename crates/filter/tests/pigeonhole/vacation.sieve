# RFC 5230: a reply to the envelope sender.
require "vacation";
vacation "I am away until Monday.";
