import sys, dkim
msg = open(sys.argv[1], 'rb').read()
txt = sys.argv[2].encode()
print(dkim.verify(msg, dnsfunc=lambda name, timeout=5: txt))
