# RFC 3894: fileinto :copy keeps the implicit keep.
require ["fileinto", "copy"];
fileinto :copy "Archive";
