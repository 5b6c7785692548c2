# RFC 5229 4.1.2: :quotewildcard; string :count.
require ["variables", "fileinto", "relational", "comparator-i;ascii-numeric"];
set :quotewildcard "pat" "Lunch*";
if string :matches "Lunch*" "${pat}" {
  fileinto "Quoted";
}
if string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2" {
  fileinto "Two";
}
