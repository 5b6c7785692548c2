# RFC 5463 4: ihave.
require ["ihave", "fileinto"];
if ihave "vacation" {
  fileinto "Has-Vacation";
}
if ihave "x-no-such-extension" {
  fileinto "Wrong";
}
