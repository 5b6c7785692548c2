# RFC 5233: the detail of the envelope recipient.
# to: bob+lists@x.example
require ["envelope", "subaddress", "fileinto"];
if envelope :detail "to" "lists" {
  fileinto "Lists";
}
if envelope :user :is "to" "bob" {
  fileinto "Bob";
}
