# RFC 5228 2.4.2.4: encoded characters in strings.
require ["encoded-character", "fileinto"];
if header :contains "subject" "${hex:4C 75 6E 63 68}" {
  fileinto "${unicode:0046}ood";
}
