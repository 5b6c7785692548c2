# RFC 6609: a personal script, with return.
# message: list.eml
require "include";
include :personal "lists";
