# RFC 5228 4.3/4.5: an explicit keep stays when discard follows.
keep;
discard;
