# RFC 5228 2.7: any field, any key.
require "fileinto";
if header :contains ["x-nothing", "from"] ["zzz", "ALICE"] {
  fileinto "Alice";
}
