"""Runs a command with a fresh PostgreSQL server: starts one
(tests/e2e/pg_server.py), passes its URL in CRDT_TEST_PG_URL, stops it after.
Used by CTest for the PostgreSQL store's Boost tests."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from pg_server import PgServer  # noqa: E402

with PgServer() as pg:
    env = dict(os.environ, CRDT_TEST_PG_URL=pg.url)
    sys.exit(subprocess.run(sys.argv[1:], env=env).returncode)
