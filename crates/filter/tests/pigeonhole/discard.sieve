# RFC 5228 4.5: discard.
if header :contains "subject" "lunch" {
  discard;
}
