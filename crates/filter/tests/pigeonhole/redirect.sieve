# RFC 5228 4.2: redirect cancels the implicit keep.
redirect "carol@c.example";
