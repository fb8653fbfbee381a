"""A throwaway PostgreSQL server for tests and benchmarks: Debian's
postgresql-15 (scripts/install-deps.sh installs it), a fresh data directory
under /tmp, listening on 127.0.0.1 and a socket in that directory only.
PostgreSQL refuses to run as root, so as root it runs as the `postgres` user
the package creates. Usage:

    with PgServer() as pg:          # or pg = PgServer().start() ... pg.stop()
        url = pg.url                # postgresql://postgres@127.0.0.1:PORT/postgres
        pg.restart()                # fast shutdown, then start again

Run as a script (`python3 pg_server.py DIR`) it starts a server in DIR,
prints its URL and waits until interrupted (bench/pg_hub.sh uses it)."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def _bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise RuntimeError("PostgreSQL is not installed: run scripts/install-deps.sh")
    return dirs[-1]


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PgServer:
    def __init__(self, datadir=None, fsync=False, max_connections=200):
        self.bin = _bindir()
        self.own_dir = datadir is None
        self.dir = datadir or tempfile.mkdtemp(prefix="crdt-pg-")
        self.port = _free_port()
        self.fsync = fsync
        self.max_connections = max_connections
        self.as_root = os.geteuid() == 0

    @property
    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args, check=True):
        cmd = [os.path.join(self.bin, args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    def start(self):
        data = os.path.join(self.dir, "data")
        if not os.path.exists(data):
            os.makedirs(data, exist_ok=True)
            if self.as_root:
                shutil.chown(self.dir, "postgres")
                shutil.chown(data, "postgres")
            os.chmod(data, 0o700)
            self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust",
                      "--locale=C", "-E", "UTF8", "--no-sync")
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action):
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                f"-c max_connections={self.max_connections} "
                f"-c fsync={'on' if self.fsync else 'off'}")
        args = ["pg_ctl", "-D", os.path.join(self.dir, "data"), "-w", "-t", "60",
                "-l", os.path.join(self.dir, "log")]
        if action == "start" or action == "restart":
            args += ["-o", opts]
        if action != "start":
            args += ["-m", "fast"]
        out = self._run(*args, action, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl {action} failed: {out.stdout}\n{self.log()}")

    def log(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop_server(self):
        """Stops the server, keeping its data (start() brings it back)."""
        self._pg_ctl("stop")

    def restart(self):
        self._pg_ctl("restart")

    def psql(self, sql):
        out = subprocess.run([os.path.join(self.bin, "psql"), self.url, "-At", "-c", sql],
                             check=True, stdout=subprocess.PIPE, text=True)
        return out.stdout.strip()

    def stop(self):
        self._run("pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate",
                  "stop", check=False)
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    pg = PgServer(datadir=sys.argv[1] if len(sys.argv) > 1 else None,
                  fsync=os.environ.get("PG_FSYNC", "on") == "on")
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGTERM])
    pg.start()
    print(pg.url, flush=True)
    try:
        signal.sigwait([signal.SIGINT, signal.SIGTERM])
    finally:
        pg.stop()
