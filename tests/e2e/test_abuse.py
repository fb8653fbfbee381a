"""HTTP abuse and overload: while hostile clients hold the server (slowloris,
thousands of idle connections, a pipelined flood nobody reads, oversize heads)
or writers push past its capacity, a well-behaved client probing /health keeps
getting answers (its p99 is measured and bounded) and the server's memory
stays bounded; when the abuse stops it serves normally again.

ABUSE_SCALE (default 1) multiplies the connection counts and durations;
scripts/faults.sh runs it at 2 and prints the figures."""
import http.client
import os
import resource
import socket
import sys
import threading
import time
import unittest

from harness import NodeTestCase

SCALE = float(os.environ.get("ABUSE_SCALE", "1"))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Prober:
    """Times GET /health on fresh connections every 20 ms until stopped."""

    def __init__(self, port):
        self.port, self.times, self.errors = port, [], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            start = time.time()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/health")
                ok = c.getresponse().status == 200
                c.close()
            except OSError:
                ok = False
            if ok:
                self.times.append(time.time() - start)
            else:
                self.errors += 1
            time.sleep(0.02)

    def finish(self):
        self.stop.set()
        self.thread.join()
        self.times.sort()
        p99 = self.times[min(len(self.times) - 1, int(0.99 * len(self.times)))] if self.times else None
        return p99, self.errors


class AbuseTest(NodeTestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def report(self, what, p99, errors, rss):
        print(f"\nabuse: {what}: health probe p99 {p99 * 1000:.0f} ms, {errors} failed probes, "
              f"server RSS {rss:.0f} MB", file=sys.stderr)

    def test_slowloris_and_idle_crowds_do_not_starve_other_clients(self):
        n = self.node(HEADER_TIMEOUT_MS=3000).start()
        base = rss_mb(n.proc.pid)
        probe = Prober(n.port)
        slow = [socket.create_connection(("127.0.0.1", n.port)) for _ in range(int(200 * SCALE))]
        idle = [socket.create_connection(("127.0.0.1", n.port)) for _ in range(int(1500 * SCALE))]
        # Slowloris: a byte a second of a head that never ends.
        for second in range(int(5 * SCALE)):
            for s in slow:
                try:
                    s.send(b"G" if second == 0 else b"x")
                except OSError:
                    pass
            time.sleep(1)
        rss = rss_mb(n.proc.pid)
        p99, errors = probe.finish()
        self.report(f"{len(slow)} slowloris + {len(idle)} idle connections", p99, errors, rss)
        self.assertLess(p99, 1.0)
        self.assertEqual(errors, 0)
        self.assertLess(rss - base, 150, "memory grew past the bound")
        # The slow heads were cut off after HEADER_TIMEOUT_MS.
        cut = 0
        for s in slow:
            s.settimeout(0.5)
            try:
                cut += s.recv(1) == b""
            except (ConnectionResetError, BrokenPipeError):
                cut += 1
            except socket.timeout:
                pass
        self.assertGreater(cut, len(slow) * 0.9)
        for s in slow + idle:
            s.close()
        self.assertEqual(n.call("GET", "/health")[0], 200)

    def test_a_pipelined_flood_and_oversize_heads_stay_bounded(self):
        n = self.node().start()
        base = rss_mb(n.proc.pid)
        probe = Prober(n.port)
        # 20,000 pipelined requests in one go, answers never read: the server
        # stops reading at its pipeline depth instead of queueing them all.
        flood = socket.create_connection(("127.0.0.1", n.port))
        flood.setblocking(False)
        batch = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * int(20000 * SCALE)
        sent = 0
        deadline = time.time() + 3
        while sent < len(batch) and time.time() < deadline:
            try:
                sent += flood.send(batch[sent:])
            except BlockingIOError:
                time.sleep(0.01)
        # Oversize heads: every one answered 431 and closed.
        big = b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"
        answered = 0
        for _ in range(int(100 * SCALE)):
            with socket.create_connection(("127.0.0.1", n.port), timeout=5) as s:
                try:
                    s.sendall(big)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                try:
                    answered += s.recv(64).startswith(b"HTTP/1.1 431")
                except (ConnectionResetError, socket.timeout):
                    pass
        time.sleep(1)
        rss = rss_mb(n.proc.pid)
        p99, errors = probe.finish()
        self.report("a pipelined flood and oversize heads", p99, errors, rss)
        self.assertGreater(answered, 90 * SCALE)
        self.assertLess(p99, 1.0)
        self.assertEqual(errors, 0)
        self.assertLess(rss - base, 100)
        flood.close()

    def test_writes_past_capacity_are_shed_and_the_server_recovers(self):
        n = self.node(WRITE_QUEUE_LIMIT=8, SQLITE_SYNCHRONOUS="FULL").start()
        base = rss_mb(n.proc.pid)
        stop, counts, lock = threading.Event(), {}, threading.Lock()

        def write():
            c = http.client.HTTPConnection("127.0.0.1", n.port, timeout=30)
            hs = {"Authorization": "Bearer " + n.token, "Content-Type": "application/json"}
            while not stop.is_set():
                c.request("POST", "/store/contacts", '{"data":{"first_name":"load"}}', hs)
                r = c.getresponse()
                r.read()
                with lock:
                    counts[r.status] = counts.get(r.status, 0) + 1
                    if r.status == 503:
                        assert r.getheader("Retry-After") == "1"
            c.close()
        threads = [threading.Thread(target=write) for _ in range(64)]
        for t in threads:
            t.start()
        time.sleep(5 * SCALE)
        rss = rss_mb(n.proc.pid)
        stop.set()
        for t in threads:
            t.join()
        print(f"\nabuse: 64 writers against WRITE_QUEUE_LIMIT=8: {counts}, server RSS {rss:.0f} MB",
              file=sys.stderr)
        self.assertTrue(set(counts) <= {201, 503}, counts)
        self.assertIn(503, counts)
        self.assertLess(rss - base, 100)
        # Recovered: the next write goes through at once.
        start = time.time()
        self.assertEqual(n.call("POST", "/store/contacts", {"data": {"first_name": "after"}})[0], 201)
        self.assertLess(time.time() - start, 1)


if __name__ == "__main__":
    unittest.main()
