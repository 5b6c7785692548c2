# RFC 7352: the first sight of a Message-ID is not a duplicate.
require ["duplicate", "fileinto"];
if duplicate {
  fileinto "Dup";
} else {
  fileinto "First";
}
