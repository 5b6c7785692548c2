# RFC 5232 with RFC 3894: flags on :copy and on the implicit keep.
require ["fileinto", "imap4flags", "copy"];
addflag "\\Seen \\Flagged";
fileinto :copy "Archive";
removeflag "\\Flagged";
