# RFC 5228 5.2, 5.3, 5.8.
require "fileinto";
if allof (header :contains "subject" "lunch",
          not exists "list-id",
          anyof (address :is "from" "nobody@b.example",
                 address :domain :is "from" "b.example")) {
  fileinto "Match";
}
if anyof (false, not true) {
  fileinto "Wrong";
}
