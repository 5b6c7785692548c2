# RFC 5228 2.7.1: :matches wildcards.
require "fileinto";
if header :matches "subject" "Lunch * Fri?ay" {
  fileinto "Matched";
}
if header :matches "subject" "Lunch" {
  fileinto "Wrong";
}
