# RFC 5228 4.2: the same address twice is one redirect.
redirect "carol@c.example";
redirect "Carol@c.example";
redirect "dave@d.example";
