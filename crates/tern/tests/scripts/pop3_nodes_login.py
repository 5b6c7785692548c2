import poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
first = poplib.POP3_SSL('127.0.0.1', int(sys.argv[1]), context=ctx)
first.user('alice@example.org'); first.pass_('pw')
second = poplib.POP3_SSL('127.0.0.1', int(sys.argv[2]), context=ctx)
second.user('alice@example.org')
try:
    second.pass_('pw')
    print('second logged in')
except poplib.error_proto as e:
    print('second', e.args[0].decode())
first.quit()
import time
for _ in range(50):
    third = poplib.POP3_SSL('127.0.0.1', int(sys.argv[2]), context=ctx)
    third.user('alice@example.org')
    try:
        third.pass_('pw'); print('after quit: ok'); third.quit(); break
    except poplib.error_proto as e:
        third.close(); time.sleep(0.1)
