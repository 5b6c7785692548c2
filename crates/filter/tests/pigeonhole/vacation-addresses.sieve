# RFC 5230 4.5: ...unless :addresses names the address that is.
# message: cc.eml
require "vacation";
vacation :addresses ["team@x.example"] "I am away.";
