#!/usr/bin/env python3
"""An SMTP server for the tests: aiosmtpd with TLS, requiring AUTH.

usage: aiosmtpd_server.py MODE PORT CERT KEY USER PASSWORD OUT
MODE is "starttls" (STARTTLS required before AUTH) or "tls" (implicit TLS). Each message
is written to OUT/N.eml as it arrived, with OUT/N.json saying who sent it to whom and
whether the session was encrypted and authenticated; each AUTH attempt is a line of
OUT/auth.log. Prints READY once it answers.
"""
import json, logging, ssl, sys, time, warnings
from pathlib import Path
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# Quiet: the test reads what it needs from the files written below.
warnings.filterwarnings("ignore")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

mode, port, cert, key, user, password, out = sys.argv[1:8]
out = Path(out)
seen = {"n": 0}

def encrypted(server, session):
    # STARTTLS sets session.ssl; an implicit-TLS transport carries the SSL object itself.
    return (session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None)

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    with open(out / "auth.log", "a") as f:
        f.write(json.dumps({"mechanism": mechanism, "ok": ok,
                            "tls": encrypted(server, session)}) + "\n")
    # handled=False: aiosmtpd then sends the 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        seen["n"] += 1
        n = seen["n"]
        (out / f"{n}.eml").write_bytes(envelope.original_content)
        (out / f"{n}.json").write_text(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": encrypted(server, session),
            "authenticated": bool(session.authenticated),
            "login": session.auth_data.login.decode() if session.auth_data else None,
        }))
        return "250 2.0.0 captured"

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
common = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator,
              auth_required=True)
if mode == "starttls":
    controller = Controller(Handler(), tls_context=context, require_starttls=True,
                            auth_require_tls=True, **common)
else:
    # aiosmtpd's auth_require_tls knows only STARTTLS; here every byte is encrypted, and
    # the log records it.
    controller = Controller(Handler(), ssl_context=context, auth_require_tls=False,
                            **common)
controller.start()
print("READY", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
