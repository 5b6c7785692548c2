# RFC 5228 5.4: envelope "from".
# from: alice@b.example
require ["envelope", "fileinto"];
if envelope :domain :is "from" "b.example" {
  fileinto "From-B";
}
if envelope :localpart :is "from" "someone-else" {
  fileinto "Wrong";
}
