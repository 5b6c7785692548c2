# RFC 5463 5: error fails the script, and the message is kept.
require ["ihave", "fileinto"];
fileinto "Before";
error "out of lunch";
