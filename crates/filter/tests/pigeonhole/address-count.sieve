# RFC 5231: :count of the addresses in list fields.
# message: encoded.eml
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if address :count "eq" :comparator "i;ascii-numeric" ["from", "cc"] "3" {
  fileinto "Three";
}
