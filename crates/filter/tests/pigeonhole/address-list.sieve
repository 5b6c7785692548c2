# RFC 5228 5.1: every address of a list field; groups; case.
# message: encoded.eml
require "fileinto";
if address :all :is "from" "john@b.example" {
  fileinto "John";
}
if address :localpart :is "cc" "bob" {
  fileinto "Cc-Bob";
}
if address :domain :is "to" "x.example" {
  fileinto "Wrong";
}
