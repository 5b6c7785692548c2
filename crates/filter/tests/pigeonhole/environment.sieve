# RFC 5183: items both servers set.
require ["environment", "fileinto"];
if environment :matches "host" "?*" {
  fileinto "Has-Host";
}
if environment :is "no-such-item" "" {
  fileinto "Wrong";
}
