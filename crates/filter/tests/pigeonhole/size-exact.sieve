# RFC 5228 5.9: size counts the message as delivered.
# message: auto.eml
require "fileinto";
if size :over 180 {
  fileinto "Over-180";
}
if size :under 200 {
  fileinto "Under-200";
}
