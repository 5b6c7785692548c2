require ["fileinto", "include"];
if header :contains "list-id" "rust-users" {
  fileinto "Rust";
  return;
}
fileinto "Wrong";
