# RFC 6609: a global script.
# message: list.eml
require "include";
include :global "spam";
