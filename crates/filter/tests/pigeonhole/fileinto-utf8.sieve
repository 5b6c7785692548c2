# RFC 5228 2.4.2: mailbox names are UTF-8; INBOX in any case is INBOX.
require "fileinto";
fileinto "Café";
fileinto "inbox";
