#!/usr/bin/env python3
"""Holds N change-feed streams open on a node and reads them (one thread,
selectors), until SIGTERM; then prints how many events and bytes arrived.

  feed_subscribers.py URL TOKEN N TABLE
"""
import selectors
import signal
import socket
import sys
from urllib.parse import urlparse

url, token, n, table = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urlparse(url)
sel = selectors.DefaultSelector()
request = (f"GET /store/{table}/changes HTTP/1.1\r\nHost: {u.hostname}\r\n"
           f"Authorization: Bearer {token}\r\n\r\n").encode()
for _ in range(n):
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(request)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
events = nbytes = closed = 0
print("ready", flush=True)
while not stop and closed < n:
    for key, _ in sel.select(timeout=0.2):
        try:
            data = key.fileobj.recv(1 << 16)
        except BlockingIOError:
            continue
        if not data:
            sel.unregister(key.fileobj)
            closed += 1
            continue
        nbytes += len(data)
        events += data.count(b"\nid: ") + data.startswith(b"id: ")
print(f"RESULT events={events} bytes={nbytes} closed={closed}", flush=True)
