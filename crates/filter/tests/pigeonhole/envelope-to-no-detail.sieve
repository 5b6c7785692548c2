# RFC 5233 4: no separator, no detail: :detail matches nothing, not "".
require ["envelope", "subaddress", "fileinto"];
if envelope :detail :matches "to" "*" {
  fileinto "Has-Detail";
}
