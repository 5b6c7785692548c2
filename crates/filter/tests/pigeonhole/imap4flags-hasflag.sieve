# RFC 5232 4: hasflag sees the internal variable.
require ["fileinto", "imap4flags"];
setflag "\\Seen";
if hasflag :contains "\\Seen" {
  fileinto :flags "" "Read";
}
