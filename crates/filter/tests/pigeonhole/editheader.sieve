# RFC 5293: tests after an edit see the edited header.
# message: list.eml
require ["editheader", "fileinto"];
addheader "X-Sorted" "yes";
deleteheader "X-Spam-Score";
if exists "x-spam-score" {
  fileinto "Wrong";
}
if header :is "x-sorted" "yes" {
  fileinto "Sorted";
}
