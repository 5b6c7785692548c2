# RFC 5229 4.1: modifiers and string tests.
require ["variables", "fileinto"];
set :upperfirst "word" "lunch";
set :length "n" "${word}";
if string :is "${word}-${n}" "Lunch-5" {
  fileinto "Modified";
}
