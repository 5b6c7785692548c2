# RFC 6609 3.4: return at the top level ends the script.
require ["include", "fileinto"];
fileinto "Before";
return;
fileinto "Never";
