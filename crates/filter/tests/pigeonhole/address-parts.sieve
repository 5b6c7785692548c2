# address :localpart/:domain/:all on header addresses.
require "fileinto";
if address :localpart :is "to" "bob" {
  fileinto "To-Bob";
}
if address :all :is "cc" "carol@c.example" {
  fileinto "Cc-Carol";
}
if address :domain :is "from" "c.example" {
  fileinto "Wrong";
}
