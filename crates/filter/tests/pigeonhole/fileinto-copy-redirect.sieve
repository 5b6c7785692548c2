# fileinto :copy, then redirect: no keep.
require ["fileinto", "copy"];
fileinto :copy "Archive";
redirect "carol@c.example";
