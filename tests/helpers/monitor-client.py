#!/usr/bin/env python3
"""An attach client of husk-monitor (tests/integration/monitor.bats).

monitor-client.py SOCKET OUT_FILE ERR_FILE ACTION...
  h:FLAGS       hello (1 stdin, 2 stdout, 4 stderr)
  i:TEXT        stdin bytes (\\n in TEXT is a newline)
  c             close the container's stdin
  w:ROWS:COLS   resize the pty
  wait:TEXT     read until the stdout received so far holds TEXT
  sleep:SECS    stop reading for a while (the relay must hold the output back, not drop it)
Then reads until the relay (or what it exec'd) hangs up. Everything received from `o` goes to
OUT_FILE, from `e` to ERR_FILE; another type is an error."""
import socket
import struct
import sys
import time

sock_path, out_path, err_path = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sock_path)
s.settimeout(60)  # a test that goes wrong fails, it does not hang
got = {b"o": bytearray(), b"e": bytearray()}
deadline = time.monotonic() + 60


def take():
    m = s.recv(65536)
    if not m:
        return False
    t = m[:1]
    if t not in got:
        sys.exit(f"unexpected message type {t!r}")
    got[t] += m[1:]
    return True


for a in sys.argv[4:]:
    verb, _, arg = a.partition(":")
    if verb == "h":
        s.send(b"h" + bytes([int(arg)]))
    elif verb == "i":
        s.send(b"i" + arg.replace("\\n", "\n").encode())
    elif verb == "c":
        s.send(b"c")
    elif verb == "w":
        rows, cols = arg.split(":")
        s.send(b"w" + struct.pack("<HH", int(rows), int(cols)))
    elif verb == "wait":
        while arg.encode() not in got[b"o"]:
            if time.monotonic() > deadline or not take():
                sys.exit(f"no {arg!r} in stdout: {bytes(got[b'o'])[-200:]!r}")
    elif verb == "sleep":
        time.sleep(float(arg))
    else:
        sys.exit(f"unknown action {a}")

while take():
    pass
with open(out_path, "wb") as f:
    f.write(got[b"o"])
with open(err_path, "wb") as f:
    f.write(got[b"e"])
