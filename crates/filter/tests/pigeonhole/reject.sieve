# RFC 5429: reject with a reason; nothing is kept.
require "reject";
if address :domain :is "from" "b.example" {
  reject "Not from you.";
}
