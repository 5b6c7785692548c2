# RFC 6609 3.2: a missing :optional script is skipped.
require ["include", "fileinto"];
include :personal :optional "does-not-exist";
fileinto "After";
