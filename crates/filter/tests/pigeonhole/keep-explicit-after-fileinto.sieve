# An explicit keep after fileinto: both copies.
require "fileinto";
fileinto "Food";
keep;
