# RFC 5260 6: :index on the Received fields, first and last (the zone
# first: Pigeonhole 0.5.19 miscounts :index when :zone follows it).
require ["date", "index", "fileinto"];
if date :originalzone :index 2 "received" "date" "2025-03-31" {
  fileinto "Second-Hop-Local";
}
if date :zone "+0000" :index 1 :last "received" "date" "2025-04-01" {
  fileinto "First-Hop-Utc";
}
if header :index 1 :contains "received" "mx2.b.example by mx.x.example" {
  fileinto "Top-Received";
}
