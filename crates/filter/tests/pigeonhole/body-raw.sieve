# RFC 5173 5.1: body :raw sees the encoded body.
# message: mime.eml
require ["body", "fileinto"];
if body :raw :contains "iVBORw0KGgo" {
  fileinto "Raw";
}
