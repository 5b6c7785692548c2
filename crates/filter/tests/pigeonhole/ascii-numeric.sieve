# RFC 4790 9.1: i;ascii-numeric compares numbers; "3" is "03".
require ["comparator-i;ascii-numeric", "fileinto"];
if header :is :comparator "i;ascii-numeric" "x-priority" "03" {
  fileinto "Normal";
}
