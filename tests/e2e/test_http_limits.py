"""Hostile and broken input at the HTTP layer: every malformed request gets a
JSON answer (400, 414, 431, 505) instead of a silent close, text that is not
UTF-8 is refused before it can be stored or echoed, connections are capped,
slow heads time out, and running out of descriptors does not spin the CPU."""
import json
import os
import socket
import threading
import time
import unittest

from harness import NodeTestCase


def raw_request(port, data, timeout=10, shut=False):
    """Sends bytes on a fresh connection; returns (status, headers text, body bytes)
    of the first answer, or (None, "", b"") when the server closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                if b"\r\n\r\n" in got:
                    head, _, rest = got.partition(b"\r\n\r\n")
                    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                              if l.lower().startswith(b"content-length:")]
                    if length and len(rest) >= length[0]:
                        break
        except ConnectionResetError:
            pass
    if not got:
        return None, "", b""
    head, _, body = got.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, head.decode("latin-1"), body


def strict_json(body):
    """Parses as a strict client would: the bytes must be UTF-8."""
    return json.loads(body.decode("utf-8", errors="strict"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MalformedRequestTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.n = self.node().start()

    def assert_answer(self, data, status, **kw):
        got, head, body = raw_request(self.n.port, data, **kw)
        self.assertEqual(got, status, (data[:80], head))
        doc = strict_json(body)
        self.assertEqual(doc["status"], status)
        self.assertFalse(doc["success"])
        return doc

    def test_every_malformed_head_gets_an_answer(self):
        token = self.n.token.encode()
        self.assert_answer(b"GET /health?" + b"q" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)
        self.assert_answer(b"GET /store/" + b"1" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)
        self.assert_answer(b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n", 431)
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
        self.assert_answer(b"GET /health HTTP/1.1\r\n" + many + b"\r\n", 431)
        self.assert_answer(b"GET /hea\0lth HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        self.assert_answer(b"POST /store/contacts HTTP/1.1\r\nAuthorization: Bearer " + token
                           + b"\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}", 400)
        self.assert_answer(b"POST /store/contacts HTTP/1.1\r\nContent-Length: ten\r\n\r\n{}", 400)
        doc = self.assert_answer(b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505)
        self.assertIn("HTTP/1.1", doc["message"])
        self.assert_answer(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505)
        # A TLS ClientHello on the plain port.
        self.assert_answer(bytes.fromhex("160301020001000001fc0303") + os.urandom(64), 400)
        # And the server still serves.
        self.assertEqual(self.n.call("GET", "/health")[0], 200)

    def test_text_that_is_not_utf8_is_refused_and_nothing_is_stored(self):
        before = self.n.call("GET", "/store/contacts?pluck=id")[1]["data"]
        for bad in [b"a\xff\xfeb", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ab\xe2\x82"]:
            s, b, _ = self.n.call("POST", "/store/contacts",
                                  raw=b'{"data":{"first_name":"' + bad + b'"}}')
            self.assertEqual(s, 400, (bad, b))
        s, b, _ = self.n.call("POST", "/store/contacts", raw=b'{"data":{"first_name":"\\udc00"}}')
        self.assertEqual(s, 400, b)
        self.assertEqual(self.n.call("GET", "/store/contacts?pluck=id")[1]["data"], before)
        # Valid multibyte text is fine.
        s, b, _ = self.n.call("POST", "/store/contacts", {"data": {"first_name": "Zoë 日本 🙂"}})
        self.assertEqual((s, b["data"][0]["first_name"]), (201, "Zoë 日本 🙂"))
        # Paths and queries: 400 with a body a strict parser reads.
        for path in ["/store/%FF", "/store/contacts/%C0%AF", "/store/contacts?pluck=%FF",
                     "/store/con%00tacts"]:
            status, _, body = raw_request(self.n.port, b"GET " + path.encode() + b" HTTP/1.1\r\n"
                                          b"Authorization: Bearer " + self.n.token.encode() + b"\r\n\r\n")
            self.assertEqual(status, 400, path)
            strict_json(body)

    def test_a_sync_batch_that_is_not_utf8_is_refused(self):
        msg = (b'{"group_id":"g","client_id":"0000000000000001","messages":[{"timestamp":'
               b'"2026-01-01T00:00:00.000Z-0000-0000000000000001","dataset":"contacts",'
               b'"row":"r1","column":"first_name","value":"S\xff"}],"merkle":{}}')
        s, b, _ = self.n.call("POST", "/sync", raw=msg, auth=False)
        self.assertEqual(s, 400, b)


class ConnectionLimitTest(NodeTestCase):
    def test_connections_beyond_the_limit_get_503_and_the_rest_keep_working(self):
        n = self.node(MAX_CONNECTIONS=8).start()
        held = [socket.create_connection(("127.0.0.1", n.port)) for _ in range(8)]
        # The kernel completes the handshakes before the server accepts them; on
        # a loaded machine that can take a while (CI once saw a 200 after 0.2 s),
        # so ask until the ninth is refused. A probe answered 200 is closed again
        # before the next, so it never holds a slot itself.
        deadline = time.time() + 10
        while True:
            status, head, body = raw_request(n.port, b"GET /health HTTP/1.1\r\n\r\n")
            if status == 503 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(status, 503)
        self.assertIn("retry-after", head.lower())
        self.assertEqual(strict_json(body)["status"], 503)
        for s in held[:4]:
            s.close()
        # The server notices the closes when its reads on them fail.
        deadline = time.time() + 10
        while n.call("GET", "/health")[0] != 200 and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(n.call("GET", "/health")[0], 200)
        for s in held[4:]:
            s.close()

    def test_a_slow_head_is_cut_off_and_does_not_hold_other_clients(self):
        n = self.node(HEADER_TIMEOUT_MS=600, IDLE_TIMEOUT_MS=5000).start()
        slow = socket.create_connection(("127.0.0.1", n.port))
        start = time.time()
        closed_after = None
        try:
            for ch in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                slow.sendall(bytes([ch]))
                time.sleep(0.1)
                self.assertEqual(n.call("GET", "/health")[0], 200)
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.time() - start
        self.assertIsNotNone(closed_after, "a head sent a byte at a time was never cut off")
        self.assertLess(closed_after, 3)
        slow.close()
        # An idle keep-alive connection may wait longer than a head may take.
        c = socket.create_connection(("127.0.0.1", n.port), timeout=10)
        c.sendall(b"GET /health HTTP/1.1\r\n\r\n")
        self.assertIn(b"200", c.recv(65536))
        time.sleep(1.5)
        c.sendall(b"GET /health HTTP/1.1\r\n\r\n")
        self.assertIn(b"200", c.recv(65536))
        c.close()

    def test_a_body_may_take_longer_than_a_head(self):
        n = self.node(HEADER_TIMEOUT_MS=500).start()
        body = b'{"data":{"first_name":"slow body"}}'
        with socket.create_connection(("127.0.0.1", n.port), timeout=10) as s:
            s.sendall(b"POST /store/contacts HTTP/1.1\r\nAuthorization: Bearer " + n.token.encode()
                      + b"\r\nContent-Type: application/json\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n")
            for i in range(0, len(body), 6):
                s.sendall(body[i:i + 6])
                time.sleep(0.2)  # 1.2 s in all, past the head's 0.5 s
            self.assertIn(b" 201 ", s.recv(65536))

    def test_connections_whose_answers_cannot_be_written_are_released(self):
        n = self.node(MAX_CONNECTIONS=6).start()
        for _ in range(30):
            s = socket.create_connection(("127.0.0.1", n.port))
            # A request, then one that is refused at once, then a reset.
            s.sendall(b"GET /health HTTP/1.1\r\n\r\nGET /h\0 HTTP/1.1\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        time.sleep(0.5)
        for _ in range(10):
            self.assertEqual(n.call("GET", "/health")[0], 200)

    def test_running_out_of_descriptors_does_not_spin(self):
        n = self.node()
        n.prefix = ["prlimit", "--nofile=100:100", "--"]
        n.start()
        held = []
        for _ in range(150):
            try:
                held.append(socket.create_connection(("127.0.0.1", n.port), timeout=2))
            except OSError:
                break
        time.sleep(0.5)
        before = cpu_seconds(n.proc.pid)
        time.sleep(2)
        used = cpu_seconds(n.proc.pid) - before
        self.assertLess(used, 0.5, f"the server burnt {used:.2f} s of CPU in 2 s while out of descriptors")
        self.assertIn("cannot accept connections", n.output())
        for s in held:
            s.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if n.call("GET", "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        self.assertEqual(n.call("GET", "/health")[0], 200)


if __name__ == "__main__":
    unittest.main()
