# RFC 5230 4.1: :days and :subject.
require ["vacation", "fileinto"];
fileinto "Away";
vacation :days 3 :subject "Away" "Back on Monday.";
