# RFC 5229: match variables and :lower.
# message: list.eml
require ["variables", "fileinto"];
if header :matches "subject" "[*] *" {
  set :lower "list" "${1}";
  fileinto "lists.${list}";
}
