# RFC 7352 3.2: a duplicate test on another field, first sight.
require ["duplicate", "fileinto"];
if duplicate :header "subject" :seconds 60 {
  fileinto "Dup";
}
fileinto "Seen-Once";
