# RFC 4790 9.3: i;octet is case-sensitive.
require "fileinto";
if header :contains :comparator "i;octet" "subject" "lunch" {
  fileinto "Wrong";
}
if header :contains :comparator "i;octet" "subject" "Lunch" {
  fileinto "Octet";
}
