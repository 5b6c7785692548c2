# RFC 5260 4: date parts in a given zone (22:30 +0200 is 20:30 UTC).
require ["date", "relational", "fileinto"];
if date :zone "+0000" "date" "hour" "20" {
  fileinto "Utc-Evening";
}
if date :zone "+0500" "date" "date" "2025-04-02" {
  fileinto "Next-Day-East";
}
if date :originalzone "date" "weekday" "2" {
  fileinto "Tuesday";
}
if date :value "lt" :zone "-0500" "date" "hour" "16" {
  fileinto "Afternoon-West";
}
