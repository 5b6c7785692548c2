# RFC 5228 3.3: stop ends the script.
require "fileinto";
fileinto "First";
stop;
fileinto "Never";
