"""An HTTP load balancer for tests of several hub processes: every request
goes to an upstream picked at random (so a node's keep-alive connection still
reaches a different process on each call), and with probability `drop` the
upstream's answer is thrown away and the client's connection closed (the hub
stored the batch; the node never learns it). `down` marks upstreams to skip
(a process that is being killed and restarted)."""
import http.client
import http.server
import random
import threading


class Balancer:
    def __init__(self, upstream_ports, drop=0.0, seed=None):
        self.ports = list(upstream_ports)
        self.drop = drop
        self.down = set()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {"forwarded": 0, "dropped": 0, "failed": 0}
        balancer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.forward("POST")

            def do_GET(self):
                self.forward("GET")

            def forward(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with balancer.lock:
                    ports = [p for p in balancer.ports if p not in balancer.down] or balancer.ports
                    port = balancer.rng.choice(ports)
                    dropped = balancer.rng.random() < balancer.drop
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "content-length")}
                try:
                    up = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    up.request(method, self.path, body=body, headers=headers)
                    r = up.getresponse()
                    data = r.read()
                    up.close()
                except OSError:
                    with balancer.lock:
                        balancer.counts["failed"] += 1
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with balancer.lock:
                    balancer.counts["dropped" if dropped else "forwarded"] += 1
                if dropped:
                    self.close_connection = True
                    return
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def shutdown(self):
        self.server.shutdown()
        self.server.server_close()
