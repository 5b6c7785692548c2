# RFC 5429: a reason written as a multi-line string, one line here.
require "reject";
reject text:
No thank you.
.
;
