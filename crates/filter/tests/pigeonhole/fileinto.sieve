# fileinto on a header test (the default comparator is i;ascii-casemap).
require "fileinto";
if header :contains "subject" "LUNCH" {
  fileinto "Food";
}
