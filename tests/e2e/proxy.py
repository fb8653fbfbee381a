"""A TCP proxy for fault tests, placed between nodes and their hub. Its mode
can change at any time and applies to data as it flows:
  pass   forward both ways
  cut    refuse: new connections are closed at once, open ones are dropped
  delay  forward, but hold every chunk from the hub for `delay` seconds
  drop   forward requests to the hub, but drop its answers and close the
         client's connection when one comes (the hub stored the batch; the
         node never learns it)"""
import socket
import threading
import time


class Proxy:
    def __init__(self, upstream_port, delay=1.2):
        self.upstream = ("127.0.0.1", upstream_port)
        self.mode, self.delay = "pass", delay
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.conns, self.lock, self.closed = [], threading.Lock(), False
        threading.Thread(target=self.accept, daemon=True).start()

    def set(self, mode):
        self.mode = mode
        if mode == "cut":
            with self.lock:
                for s in self.conns:
                    self.close(s)
                self.conns.clear()

    @staticmethod
    def close(s):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "cut":
                self.close(client)
                continue
            try:
                up = socket.create_connection(self.upstream, timeout=5)
                up.settimeout(None)
            except OSError:
                self.close(client)
                continue
            with self.lock:
                self.conns += [client, up]
            threading.Thread(target=self.pump, args=(client, up, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(up, client, True), daemon=True).start()

    def pump(self, src, dst, from_hub):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_hub and self.mode == "drop":
                    break  # the answer is lost; the client sees its connection close
                if from_hub and self.mode == "delay":
                    time.sleep(self.delay)
                if self.mode == "cut":
                    break
                dst.sendall(data)
        except OSError:
            pass
        self.close(src)
        self.close(dst)

    def shutdown(self):
        self.closed = True
        self.close(self.listener)
        self.set("cut")
