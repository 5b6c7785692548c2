# RFC 5435/5436: a notification by mail.
require "enotify";
notify :message "Lunch mail" "mailto:pager@y.example";
