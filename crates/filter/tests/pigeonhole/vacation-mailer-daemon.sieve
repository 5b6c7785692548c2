# RFC 5230 4.6: no reply to a MAILER-DAEMON.
# from: MAILER-DAEMON@b.example
require "vacation";
vacation "I am away.";
