# RFC 5228 4.2/4.3: forward and keep, the keep written first.
keep;
redirect "carol@c.example";
