import email, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read())
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m.get_param('report-type') == 'delivery-status'
status = [p for p in m.walk() if p.get_content_type() == 'message/delivery-status'][0]
groups = status.get_payload()
print(groups[0]['Reporting-MTA'], groups[0]['Original-Envelope-Id'])
print(groups[1]['Final-Recipient'], groups[1]['Action'], groups[1]['Status'])
print(m['Return-Path'] if 'Return-Path' in m else '')
