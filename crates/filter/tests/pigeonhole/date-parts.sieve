# RFC 5260 4.2: more date parts, in the original zone.
# message: encoded.eml
require ["date", "fileinto"];
if date :originalzone "date" "zone" "-0700" {
  fileinto "Zone";
}
if date :originalzone "date" "julian" "60769" {
  fileinto "Julian";
}
if date :zone "+0000" "date" "time" "16:00:00" {
  fileinto "Time";
}
