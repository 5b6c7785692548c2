# RFC 5228 4.1: one copy per mailbox.
require "fileinto";
fileinto "Food";
if true { fileinto "Food"; }
