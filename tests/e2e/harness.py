"""Starts crdt-store processes on loopback for the end-to-end tests."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BINARY = os.environ.get("CRDT_STORE_BINARY", "build/crdt-store")
SCHEMA = os.environ.get("CRDT_SCHEMA_DIR", "schema")

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "e2e-Secret-1!"
DEFAULT_ORG = "01JBHKXHYSKPP247HZZWHA3JCT"


class Headers(dict):
    """Answer headers, looked up case-insensitively."""

    def __init__(self, pairs):
        super().__init__((k.lower(), v) for k, v in pairs)

    def get(self, key, default=None):
        return super().get(key.lower(), default)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(key.lower())


class LoginError(RuntimeError):
    def __init__(self, status, body):
        super().__init__(f"login answered {status}: {body}")
        self.status, self.body = status, body


def wait_for(what, check, timeout=20):
    """Calls check() until it answers something true, and answers that; fails
    with AssertionError naming `what` after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One server process in its own working folder."""

    def __init__(self, workdir=None, schema_dir=None, login=True, **env):
        """env: extra settings; a value of None leaves that setting unset. Unless given,
        the default admin's email and password are set, and start() logs in as that admin
        (login=False: it does not) and keeps the token for call()."""
        self.dir = workdir or tempfile.mkdtemp(prefix="crdt-e2e-")
        self.schema = schema_dir or os.path.join(self.dir, "schema")
        if not os.path.isdir(self.schema):
            shutil.copytree(SCHEMA, self.schema)
        self.port = free_port()
        self.db = os.path.join(self.dir, "db", "store.sqlite")
        self.env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        self.env.update({"HOST": "127.0.0.1", "PORT": str(self.port), "SCHEMA_DIR": self.schema,
                         "DB_SQLITE_FILE": self.db, "SQLITE_SYNCHRONOUS": "NORMAL"})
        self.env.update({"DEFAULT_ORGANIZATION_ADMIN_EMAIL": ADMIN_EMAIL,
                         "DEFAULT_ORGANIZATION_ADMIN_PASSWORD": ADMIN_PASSWORD})
        self.env.update({k: str(v) for k, v in env.items() if v is not None})
        for k, v in env.items():
            if v is None:
                self.env.pop(k, None)
        self.auto_login = login
        self.token = self.account_id = self.organization_id = None
        self.proc = None
        self.log = os.path.join(self.dir, "server.log")
        self.err_log = None  # a path: start() writes stderr there instead of into self.log
        self.prefix = []  # a command the binary runs under, e.g. ["prlimit", "--nofile=64", "--"]

    def start(self, args=(), wait=True):
        with open(self.log, "ab") as log, open(self.err_log or os.devnull, "ab") as err:
            self.proc = subprocess.Popen([*self.prefix, BINARY, *args], env=self.env, cwd=self.dir, stdout=log,
                                         stderr=err if self.err_log else subprocess.STDOUT)
        if wait:
            deadline = time.time() + 15
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited {self.proc.returncode}: {self.output()}")
                try:
                    up = self.call("GET", "/health", auth=False)[0] == 200
                except OSError:
                    up = False
                if up:
                    self.token = None
                    if self.auto_login and self.env.get("DEFAULT_ORGANIZATION_ADMIN_PASSWORD"):
                        self.token = self.login()
                    return self
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

    @property
    def admin_email(self):
        return self.env.get("DEFAULT_ORGANIZATION_ADMIN_EMAIL")

    @property
    def admin_password(self):
        return self.env.get("DEFAULT_ORGANIZATION_ADMIN_PASSWORD")

    def login_call(self, email, password):
        """POST /auth/login without a token; returns (status, body, headers)."""
        return self.call("POST", "/auth/login", {"data": {"email": email, "password": password}}, auth=False)

    def login(self, email=None, password=None):
        """Logs in (as the default admin unless told otherwise) and returns the token.
        Logging in as the default admin also sets account_id and organization_id."""
        admin = email is None
        email = self.admin_email if admin else email
        password = self.admin_password if password is None else password
        s, b, _ = self.login_call(email, password)
        try:
            assert s == 200
            row = b["data"][0]
            token = row["token"]
        except (AssertionError, KeyError, IndexError, TypeError):
            raise LoginError(s, b) from None
        if admin:
            self.account_id, self.organization_id = row.get("account_id"), row.get("organization_id")
        return token

    def call(self, method, path, body=None, raw=None, headers=None, auth=True, token=None):
        """One request on a fresh connection; returns (status, parsed body, headers).
        Sends `Authorization: Bearer <token>` (token, else self.token) unless auth=False
        or the caller gives its own Authorization header."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        hs = {"Content-Type": "application/json"}
        hs.update(headers or {})
        bearer = token or self.token
        if auth and bearer and not any(k.lower() == "authorization" for k in hs):
            hs["Authorization"] = "Bearer " + bearer
        c.request(method, path, data, hs)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return r.status, parsed, Headers(r.getheaders())


class NodeTestCase(unittest.TestCase):
    """A test case whose nodes (from self.node()) are killed and removed afterwards."""

    def setUp(self):
        self.nodes = []

    def tearDown(self):
        if self._failed():
            # The nodes' logs go with their temporary directories: show their
            # ends first, so that a failure seen once in CI can be read.
            for i, n in enumerate(self.nodes):
                try:
                    tail = n.output().splitlines()[-80:]
                except OSError:
                    continue
                print(f"\n--- {self.id()}: node {i} log ({n.log}), last {len(tail)} lines ---",
                      file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)
        for n in self.nodes:
            n.cleanup()

    def _failed(self):
        """Whether this test has failed or errored so far (Python 3.11 records both at once)."""
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in result.errors + result.failures)

    def node(self, **kw):
        n = Node(**kw)
        self.nodes.append(n)
        return n
