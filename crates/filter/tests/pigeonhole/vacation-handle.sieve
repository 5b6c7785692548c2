# RFC 5230 4.2: :handle and :from.
require "vacation";
vacation :handle "away-1" :from "bob@x.example" "I am away.";
