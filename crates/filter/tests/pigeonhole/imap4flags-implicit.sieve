# RFC 5232 3: the implicit keep takes the flags set.
require "imap4flags";
setflag ["\\Seen", "$Later"];
