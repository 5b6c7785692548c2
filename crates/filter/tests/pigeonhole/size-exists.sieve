# RFC 5228 5.6, 5.9.
require "fileinto";
if size :under 10K {
  fileinto "Small";
}
if size :over 1M {
  fileinto "Wrong";
}
if exists ["from", "date"] {
  fileinto "Has-Both";
}
