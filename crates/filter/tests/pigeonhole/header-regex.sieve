# draft-ietf-sieve-regex: :regex with match variables.
# message: list.eml
require ["regex", "variables", "fileinto"];
if header :regex "subject" "^\\[([A-Za-z]+)\\] Release ([0-9]+)\\.([0-9]+)$" {
  fileinto "${1}-${2}-${3}";
}
