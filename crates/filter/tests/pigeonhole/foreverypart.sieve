# RFC 5703 3: foreverypart and header :mime.
# message: mime.eml
require ["foreverypart", "mime", "fileinto"];
foreverypart {
  if header :mime :type :is "content-type" "image" {
    fileinto "Images";
  }
}
