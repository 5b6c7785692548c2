# RFC 3894: redirect :copy does not.
require "copy";
redirect :copy "carol@c.example";
