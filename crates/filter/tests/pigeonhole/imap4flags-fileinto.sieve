# RFC 5232: the internal flags variable, and :flags.
require ["fileinto", "imap4flags"];
addflag "\\Flagged";
fileinto "Flagged";
removeflag "\\Flagged";
addflag ["$Todo", "\\Seen"];
fileinto "Todo";
fileinto :flags "\\Answered" "Answered";
