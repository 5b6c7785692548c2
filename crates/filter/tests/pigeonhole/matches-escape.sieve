# RFC 5228 2.7.1: \\* matches a literal star, ? one character.
require "fileinto";
if header :matches "subject" "*\\*" {
  fileinto "Wrong";
}
if header :matches "subject" "L?nch*" {
  fileinto "Lunch";
}
