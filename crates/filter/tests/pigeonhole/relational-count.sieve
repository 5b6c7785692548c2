# RFC 5231 :count on Received fields.
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :count "eq" :comparator "i;ascii-numeric" "received" "2" {
  fileinto "Two-Hops";
}
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" {
  fileinto "Wrong";
}
