# RFC 5703 7: extracttext.
# message: mime.eml
require ["foreverypart", "mime", "extracttext", "variables", "fileinto"];
foreverypart {
  if header :mime :type "content-type" "text" {
    extracttext :first 4 "start";
    fileinto "${start}";
    break;
  }
}
