# RFC 5228 5.5: a field with an empty value exists; :is "" matches it.
# message: encoded.eml
require "fileinto";
if exists "x-empty" {
  fileinto "Exists";
}
if header :is "x-empty" "" {
  fileinto "Empty";
}
if header :is "x-absent" "" {
  fileinto "Wrong";
}
