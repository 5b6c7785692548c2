# RFC 5436 2.2: mailto with options; valid_notify_method.
require ["enotify", "fileinto"];
if valid_notify_method "mailto:pager@y.example" {
  fileinto "Valid";
}
if valid_notify_method "xmpp:pager@y.example" {
  fileinto "Wrong";
}
notify :importance "1" :from "bob@x.example" "mailto:pager@y.example?subject=Lunch";
