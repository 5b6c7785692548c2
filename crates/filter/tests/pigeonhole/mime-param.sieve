# RFC 5703 4.2: header :mime :param and :anychild.
# message: mime.eml
require ["mime", "fileinto"];
if header :mime :anychild :param "filename" :contains "content-disposition" ".png" {
  fileinto "Png";
}
if header :mime :subtype "content-type" "mixed" {
  fileinto "Mixed";
}
