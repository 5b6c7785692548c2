# RFC 5260 5: currentdate, in a way that stays true.
require ["date", "relational", "fileinto"];
if currentdate :zone "+0000" :value "ge" "year" "2025" {
  fileinto "Now";
}
