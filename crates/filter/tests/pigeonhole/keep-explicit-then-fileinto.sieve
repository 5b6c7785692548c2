# RFC 5228 4.3: an explicit keep stays when fileinto follows.
require "fileinto";
keep;
fileinto "Archive";
