# RFC 6609 3.3: a global variable set here, used there.
require ["include", "variables"];
global "box";
set "box" "Shared";
include :personal "usebox";
