# RFC 5232 3: flags kept in a variable of one's own.
require ["fileinto", "imap4flags", "variables"];
set "tag" "$Tagged";
addflag "mine" ["${tag}", "\\Draft"];
removeflag "mine" "\\Draft";
fileinto :flags "${mine}" "Tagged";
