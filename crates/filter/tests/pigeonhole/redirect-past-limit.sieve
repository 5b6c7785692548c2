# RFC 5228 2.10.6: more redirects than the limit (4 on both sides) fail
# the script; the message is kept.
redirect "a@c.example";
redirect "b@c.example";
redirect "c@c.example";
redirect "d@c.example";
redirect "e@c.example";
