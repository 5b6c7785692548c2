# RFC 5173 5.2: body :text sees text parts only.
# message: mime.eml
require ["body", "fileinto"];
if body :text :contains "photos from the trip" {
  fileinto "Trip";
}
if body :text :contains "iVBORw0KGgo" {
  fileinto "Wrong";
}
