# RFC 8579: fileinto :specialuse, the named mailbox as the fallback.
require ["fileinto", "special-use"];
fileinto :specialuse "\\Junk" "Spam";
