# RFC 5230 4.5: no reply to the user's own address.
# from: bob@x.example
require "vacation";
vacation "I am away.";
