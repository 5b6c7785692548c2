# A script that takes no action: the implicit keep.
if header :contains "subject" "dinner" {
  discard;
}
