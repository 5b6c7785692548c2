# Python caldav (PyPI) against tern: discovery from the well-known URI,
# the default calendar, a new calendar with a name that needs encoding,
# events (single, recurring with an exception, all-day, with a time zone),
# a todo, time-range searches (one across a DST change), an update with
# If-Match, a delete, and the sync token after changes.
import socket, sys, datetime
port, cafile, user, password = sys.argv[1:5]
# The certificate names mx.test.example: resolve it to loopback so the
# client verifies the name as it would on the internet.
real = socket.getaddrinfo
socket.getaddrinfo = lambda host, *a, **k: real("127.0.0.1" if host == "mx.test.example" else host, *a, **k)
import caldav

base = "https://mx.test.example:%s" % port
client = caldav.DAVClient(url=base + "/.well-known/caldav", username=user, password=password, ssl_verify_cert=cafile)
principal = client.principal()
print("principal", principal.url.path)
print("calendars", sorted(c.get_display_name() for c in principal.calendars()))
principal.make_calendar(name="Work stuff", cal_id="work+1")
# The calendar as the server lists it (its href, encoded by the server).
cal = [c for c in principal.calendars() if c.get_display_name() == "Work stuff"][0]
print("made", cal.url.path)

SINGLE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:single-1
DTSTAMP:20240101T000000Z
DTSTART:20240305T100000Z
DTEND:20240305T110000Z
SUMMARY:Dentist
END:VEVENT
END:VCALENDAR
"""
# Weekly on Mondays in Europe/Berlin from 4 March 2024 (DST starts on 31
# March), the 11 March one moved to the Tuesday.
RECURRING = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20240304T090000
DTEND;TZID=Europe/Berlin:20240304T093000
RRULE:FREQ=WEEKLY;COUNT=8
EXDATE;TZID=Europe/Berlin:20240318T090000
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20240101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20240311T090000
DTSTART;TZID=Europe/Berlin:20240312T090000
DTEND;TZID=Europe/Berlin:20240312T093000
SUMMARY:Standup (moved)
END:VEVENT
END:VCALENDAR
"""
ALLDAY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:allday-1
DTSTAMP:20240101T000000Z
DTSTART;VALUE=DATE:20240401
DTEND;VALUE=DATE:20240402
SUMMARY:Holiday
END:VEVENT
END:VCALENDAR
"""
TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTODO
UID:todo-1
DTSTAMP:20240101T000000Z
SUMMARY:File taxes
DUE:20240415T120000Z
END:VTODO
END:VCALENDAR
"""
for ics in (SINGLE, RECURRING, ALLDAY):
    cal.save_event(ics)
cal.save_todo(TODO)
token = cal.objects_by_sync_token(load_objects=False).sync_token
print("events", sorted(str(e.icalendar_component["uid"]) for e in cal.events()))
print("todos", [str(t.icalendar_component["uid"]) for t in cal.todos()])

def uids(start, end):
    found = cal.search(start=start, end=end, event=True, expand=False)
    return sorted(set(str(e.icalendar_component["uid"]) for e in found))

utc = datetime.timezone.utc
print("week of 4 March", uids(datetime.datetime(2024, 3, 4, tzinfo=utc), datetime.datetime(2024, 3, 11, tzinfo=utc)))
print("18 March (excluded)", uids(datetime.datetime(2024, 3, 18, tzinfo=utc), datetime.datetime(2024, 3, 19, tzinfo=utc)))
# Before the DST change 09:00 Berlin is 08:00 UTC, after it 07:00 UTC.
print("25 March 08:00 UTC", uids(datetime.datetime(2024, 3, 25, 8, 0, tzinfo=utc), datetime.datetime(2024, 3, 25, 8, 10, tzinfo=utc)))
print("8 April 07:00 UTC", uids(datetime.datetime(2024, 4, 8, 7, 0, tzinfo=utc), datetime.datetime(2024, 4, 8, 7, 10, tzinfo=utc)))
print("8 April 08:00 UTC", uids(datetime.datetime(2024, 4, 8, 8, 0, tzinfo=utc), datetime.datetime(2024, 4, 8, 8, 10, tzinfo=utc)))
print("the all-day one", uids(datetime.datetime(2024, 4, 1, 12, 0, tzinfo=utc), datetime.datetime(2024, 4, 1, 13, 0, tzinfo=utc)))
print("the moved one", uids(datetime.datetime(2024, 3, 12, tzinfo=utc), datetime.datetime(2024, 3, 13, tzinfo=utc)))
print("in June", uids(datetime.datetime(2024, 6, 1, tzinfo=utc), datetime.datetime(2024, 6, 30, tzinfo=utc)))

# Free-busy (RFC 4791 7.10): the dentist and two standups that week.
fb = cal.freebusy_request(datetime.datetime(2024, 3, 4, tzinfo=utc), datetime.datetime(2024, 3, 11, tzinfo=utc))
print("busy", sorted(l.split(":", 1)[1] for l in fb.data.splitlines() if l.startswith("FREEBUSY")))
# A property filter with a parameter filter: the event whose DTSTART names
# a time zone.
q = """<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:prop-filter name="DTSTART"><c:param-filter name="TZID"><c:text-match>europe/berlin</c:text-match></c:param-filter></c:prop-filter></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"""
r = client.report(str(cal.url), q, depth=1)
print("param-filter", sorted(h.rsplit("/", 1)[1] for h in __import__("re").findall(r"<d:href>([^<]*)</d:href>", r.raw)))

# Update with the ETag it has, then with a stale one.
ev = cal.event_by_uid("single-1")
old = ev.props.get("{DAV:}getetag") if hasattr(ev, "props") else None
ev.load()
etag = client.request(ev.url, "HEAD").headers["ETag"]
ev.data = SINGLE.replace("Dentist", "Dentist (moved)")
r = client.put(ev.url, ev.data, {"If-Match": etag, "Content-Type": "text/calendar"})
print("update", r.status)
r = client.put(ev.url, SINGLE, {"If-Match": etag, "Content-Type": "text/calendar"})
print("stale update", r.status)
print("after", cal.event_by_uid("single-1").icalendar_component["summary"])
cal.event_by_uid("allday-1").delete()
changes = cal.objects_by_sync_token(sync_token=token, load_objects=False)
print("changed since", sorted(o.url.path.rsplit("/", 1)[1] for o in changes))
print("sync token moved", changes.sync_token != token)
