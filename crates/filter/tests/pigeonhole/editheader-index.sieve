# RFC 5293 4, 5: addheader :last, deleteheader :index with a value.
require ["editheader", "fileinto", "index"];
addheader :last "X-Hop" "last";
addheader "X-Hop" "first";
deleteheader :index 1 :last "X-Hop";
if header :is "x-hop" "first" {
  fileinto "First-Stays";
}
if header :is "x-hop" "last" {
  fileinto "Wrong";
}
