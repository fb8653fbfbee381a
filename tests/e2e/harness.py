"""Starts crdt-store processes on loopback for the end-to-end tests."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BINARY = os.environ.get("CRDT_STORE_BINARY", "build/crdt-store")
SCHEMA = os.environ.get("CRDT_SCHEMA_DIR", "schema")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One server process in its own working folder."""

    def __init__(self, workdir=None, schema_dir=None, **env):
        self.dir = workdir or tempfile.mkdtemp(prefix="crdt-e2e-")
        self.schema = schema_dir or os.path.join(self.dir, "schema")
        if not os.path.isdir(self.schema):
            shutil.copytree(SCHEMA, self.schema)
        self.port = free_port()
        self.db = os.path.join(self.dir, "db", "store.sqlite")
        self.env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        self.env.update({"HOST": "127.0.0.1", "PORT": str(self.port), "SCHEMA_DIR": self.schema,
                         "DB_SQLITE_FILE": self.db, "SQLITE_SYNCHRONOUS": "NORMAL"})
        self.env.update({k: str(v) for k, v in env.items()})
        self.proc = None
        self.log = os.path.join(self.dir, "server.log")

    def start(self, args=(), wait=True):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([BINARY, *args], env=self.env, cwd=self.dir,
                                         stdout=log, stderr=subprocess.STDOUT)
        if wait:
            deadline = time.time() + 15
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited {self.proc.returncode}: {self.output()}")
                try:
                    if self.call("GET", "/health")[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            raise RuntimeError("server did not answer /health")
        return self

    def run(self, args=(), timeout=30):
        """Runs the binary to completion (e.g. --rebuild); returns (code, output)."""
        r = subprocess.run([BINARY, *args], env=self.env, cwd=self.dir, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return r.returncode, r.stdout.decode()

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, method, path, body=None, raw=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        hs = {"Content-Type": "application/json"}
        hs.update(headers or {})
        c.request(method, path, data, hs)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return r.status, parsed, dict(r.getheaders())
