# RFC 6609 3.2: :once includes a script only once.
# message: list.eml
require ["include", "variables", "fileinto"];
global "box";
set "box" "Once";
include :personal :once "usebox";
include :personal :once "usebox";
