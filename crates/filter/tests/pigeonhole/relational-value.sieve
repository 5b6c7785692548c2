# RFC 5231 with i;ascii-numeric: a score header.
# message: list.eml
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "10" {
  fileinto "Spam";
}
if header :value "lt" :comparator "i;ascii-numeric" "x-spam-score" "9" {
  fileinto "Wrong";
}
