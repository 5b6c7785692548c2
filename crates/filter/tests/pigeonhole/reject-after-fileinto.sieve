# RFC 5429 2.1: reject after fileinto fails the script; the message is kept.
require ["reject", "fileinto"];
fileinto "Archive";
reject "No thanks.";
