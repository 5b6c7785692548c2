# RFC 5228 2.7.2: tests see header fields decoded (RFC 2047).
# message: encoded.eml
require "fileinto";
if header :contains "subject" "Café" {
  fileinto "Cafe";
}
if header :contains "subject" "=?utf-8?" {
  fileinto "Wrong";
}
