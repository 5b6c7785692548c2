# RFC 5173: body :contains.
require ["body", "fileinto"];
if body :contains "noon" {
  fileinto "Noon";
}
if body :text :contains "usual place" {
  fileinto "Place";
}
