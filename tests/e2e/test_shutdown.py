"""Stopping a node that is in the middle of syncing: SIGTERM while it catches
up from a hub must end the process cleanly (exit code 0), whatever the sync
client was doing. scripts/test.sh runs this module against the
AddressSanitizer build as well, where a use after free during shutdown is a
report and a non-zero exit, not a matter of luck (in the plain build these
tests catch it only some of the time). The same goes for a start-up that
fails after the node's actors exist.

SHUTDOWN_ROUNDS (default 8) nodes are started and stopped."""
import json
import os
import random
import signal
import socket
import time
import unittest

from harness import NodeTestCase

ROUNDS = int(os.environ.get("SHUTDOWN_ROUNDS", "8"))
GROUP = "shutdown"


def preload(hub, count, batch=2000):
    """count messages, one a minute from 2026-01-01, pushed to the hub's /sync."""
    base = 1767225600000  # 2026-01-01T00:00:00Z
    for start in range(0, count, batch):
        msgs = []
        for i in range(start, min(count, start + batch)):
            ms = base + i * 60000
            secs, millis = divmod(ms, 1000)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{millis:03d}Z-0000-aaaaaaaaaaaaaaaa"
            msgs.append({"timestamp": stamp, "dataset": "contacts", "row": f"01JAR2HPE7JJS1HYQZ7F{i:06d}",
                         "column": "first_name", "value": f"name {i}"})
        s, b, _ = hub.call("POST", "/sync", {"group_id": GROUP, "client_id": "aaaaaaaaaaaaaaaa",
                                             "messages": msgs, "merkle": {}})
        assert s == 200, (s, b)


class ShutdownTest(NodeTestCase):
    def test_a_node_stopped_while_it_catches_up_exits_cleanly(self):
        hub = self.node(GROUP_ID=GROUP).start()
        preload(hub, 20000)
        rng = random.Random(20261206)
        for round in range(ROUNDS):
            n = self.node(GROUP_ID=GROUP, SYNC_ENABLED="true", SYNC_TIMER_MS="20",
                          SYNC_ENDPOINT=f"http://127.0.0.1:{hub.port}").start()
            n.call("POST", "/store/contacts", {"data": {"first_name": f"local {round}"}})
            pause = rng.uniform(0.0, 0.4)
            time.sleep(pause)
            n.proc.send_signal(signal.SIGTERM)
            try:
                code = n.proc.wait(timeout=20)
            except Exception:
                self.fail(f"round {round}: the node did not stop within 20 s of SIGTERM")
            n.proc = None
            self.assertEqual(code, 0, f"round {round} (stopped after {pause:.2f} s): "
                                      + n.output()[-3000:])

    def test_a_second_signal_ends_a_slow_stop_at_once(self):
        """The stop waits for work under way (here a 300,000-message /sync
        batch being committed); a second SIGTERM must not wait with it, but
        end the process at once (exit 143). Before, the
        second signal was swallowed and the process exited 0 seconds
        later."""
        n = self.node(GROUP_ID=GROUP, SYNC_BODY_LIMIT=str(512 << 20)).start()
        base = 1767225600000
        msgs = []
        for i in range(300000):
            secs, millis = divmod(base + i * 60000, 1000)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{millis:03d}Z-0000-aaaaaaaaaaaaaaaa"
            msgs.append({"timestamp": stamp, "dataset": "contacts", "row": f"01JAR2HPE7JJS1HYQZ7F{i:06d}",
                         "column": "first_name", "value": f"n{i}"})
        body = json.dumps({"group_id": GROUP, "client_id": "aaaaaaaaaaaaaaaa", "messages": msgs,
                           "merkle": {}}).encode()
        with socket.create_connection(("127.0.0.1", n.port)) as sock:
            sock.sendall(b"POST /sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            # The writer is in the middle of the batch's commit once the log
            # has grown past its page cache (16 MiB): that takes seconds more.
            wal = n.db + "-wal"
            deadline = time.time() + 60
            while not (os.path.exists(wal) and os.path.getsize(wal) > 24 << 20):
                self.assertLess(time.time(), deadline, "the batch's commit never began")
                time.sleep(0.02)
            started = time.time()
            n.proc.send_signal(signal.SIGTERM)
            # The first signal's handler has run once it says so.
            deadline = time.time() + 20
            while "a second SIGINT or SIGTERM ends the process" not in n.output():
                self.assertIsNone(n.proc.poll(), "stopped without saying so: " + n.output()[-2000:])
                self.assertLess(time.time(), deadline, "the first SIGTERM was not handled")
                time.sleep(0.01)
            if n.proc.poll() is not None:
                self.skipTest("the stop was over before a second signal could be sent")
            n.proc.send_signal(signal.SIGTERM)
            code = n.proc.wait(timeout=30)
            took = time.time() - started
        n.proc = None
        # 128 + 15, as a shell reports a process the signal ended.
        self.assertEqual(code, 143, f"exit {code} after {took:.1f} s: " + n.output()[-2000:])
        self.assertIn("a second signal: exiting without waiting", n.output())

    def test_a_node_that_cannot_listen_exits_cleanly(self):
        """Start-up failing after the node's actors exist (its port is taken)
        ends them the same way: a clear message and exit code 1, no crash."""
        taken = socket.socket()
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        self.addCleanup(taken.close)
        for round in range(3):
            n = self.node(GROUP_ID=GROUP, SYNC_ENABLED="true", SYNC_TIMER_MS="20",
                          SYNC_ENDPOINT="http://127.0.0.1:9", PORT=str(taken.getsockname()[1]))
            code, out = n.run(timeout=30)
            self.assertEqual(code, 1, out[-3000:])
            self.assertIn("crdt-store:", out)


if __name__ == "__main__":
    unittest.main()
