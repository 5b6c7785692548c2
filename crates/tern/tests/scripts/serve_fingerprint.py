import hashlib, socket, ssl, sys
if sys.argv[1] == "file":
    der = ssl.PEM_cert_to_DER_cert(open(sys.argv[2]).read())
else:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10)) as s:
        der = s.getpeercert(binary_form=True)
print(hashlib.sha256(der).hexdigest())
