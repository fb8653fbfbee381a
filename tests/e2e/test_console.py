"""The web console in a real browser: Debian's chromium, headless, driven
through the DevTools protocol. A person logs in, opens a table, creates a
record through the form generated from its schema, sees it arrive in the
live feed and in the list, filters the list, edits and deletes the record;
the API confirms each step, and a screenshot is saved (CRDT_CONSOLE_SCREENSHOT,
else the test's folder). No page script may throw."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

try:
    import websocket  # python3-websocket (scripts/install-deps.sh)
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    import websocket

from harness import NodeTestCase


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("no chromium: scripts/install-deps.sh installs Debian's")


class Browser:
    """A headless chromium and one page of it, spoken to over CDP."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="crdt-chromium-")
        self.proc = subprocess.Popen(
            [chromium_binary(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", "--remote-allow-origins=*",
             "--window-size=1400,900", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        lines = []
        while len(lines) < 2:
            if time.time() > deadline or self.proc.poll() is not None:
                raise AssertionError("chromium did not open its DevTools port")
            time.sleep(0.1)
            if os.path.exists(port_file):
                with open(port_file) as f:
                    lines = f.read().split("\n")
        port = int(lines[0])
        targets = []
        while not targets:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = [t for t in json.load(r) if t["type"] == "page"]
            if not targets:
                time.sleep(0.1)
        self.ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == ident:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def js(self, expression):
        """Evaluates in the page (awaiting promises) and answers the value."""
        r = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, what, expression, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.js(expression):
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; page text: "
                             + str(self.js("document.body.innerText"))[:2000])

    def type_into(self, element_id, text):
        """Focuses a field, clears it and types like a keyboard would."""
        self.js(f"(() => {{ const e = document.getElementById({json.dumps(element_id)});"
                " e.focus(); e.select && e.select(); })()")
        self.js(f"document.getElementById({json.dumps(element_id)}).value = ''")
        self.send("Input.insertText", text=text)

    def click(self, expression):
        """Clicks the element the expression finds, at its centre, with the mouse."""
        box = self.js(f"(() => {{ const e = {expression}; e.scrollIntoView({{block: 'center'}});"
                      " const r = e.getBoundingClientRect();"
                      " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def errors(self):
        return [e["params"] for e in self.events if e.get("method") == "Runtime.exceptionThrown"]

    def close(self):
        try:
            self.ws.close()
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class ConsoleTest(NodeTestCase):
    def test_log_in_create_see_it_live_filter_edit_delete(self):
        n = self.node().start()
        s, b, h = n.call("GET", "/console", auth=False)
        self.assertEqual(s, 200)
        self.assertTrue(h["Content-Type"].startswith("text/html"))
        self.assertIn("frame-ancestors 'none'", h["Content-Security-Policy"])
        browser = Browser()
        try:
            browser.send("Page.navigate", url=f"http://127.0.0.1:{n.port}/console")
            browser.wait("the login form", "!!document.getElementById('email')")
            browser.wait("the node's id", "document.getElementById('node').textContent.startsWith('node ')")
            # A wrong password says so and stays on the form.
            browser.type_into("email", n.admin_email)
            browser.type_into("password", "not the password")
            browser.click("document.getElementById('login-button')")
            browser.wait("the refusal", "document.getElementById('login-msg').textContent.length > 0")
            browser.type_into("password", n.admin_password)
            browser.click("document.getElementById('login-button')")
            browser.wait("the tables", "[...document.querySelectorAll('#tables li')]"
                                       ".some(l => l.textContent === 'contacts')")
            browser.click("[...document.querySelectorAll('#tables li')].find(l => l.textContent === 'contacts')")
            browser.wait("the contacts form", "!!document.getElementById('field-first_name')")
            browser.wait("the feed", "document.getElementById('feed-state').textContent === 'up to date'")
            # Create through the generated form.
            browser.type_into("field-first_name", "Console Person")
            browser.type_into("field-last_name", "Original")
            browser.click("document.getElementById('save')")
            browser.wait("the created message", "document.getElementById('form-msg').textContent.startsWith('Created ')")
            rec = browser.js("document.getElementById('form-msg').textContent.slice(8)")
            s, b, _ = n.call("GET", f"/store/contacts/{rec}")
            self.assertEqual(s, 200, b)
            self.assertEqual((b["data"][0]["first_name"], b["data"][0]["last_name"]), ("Console Person", "Original"))
            # The live feed and the list show it.
            browser.wait("the record in the feed",
                         "document.getElementById('feed').textContent.includes('Console Person')")
            browser.wait("the record in the list",
                         f"!!document.querySelector('#records tr[data-id=\"{rec}\"]')")
            # A record created elsewhere arrives in the feed too.
            s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": "From The API"}})
            self.assertEqual(s, 201, b)
            browser.wait("the API's record in the feed",
                         "document.getElementById('feed').textContent.includes('From The API')")
            # Filter the list.
            browser.js("document.getElementById('filter-field').value = 'first_name'")
            browser.js("document.getElementById('filter-op').value = 'like'")
            browser.type_into("filter-value", "console%")
            browser.click("document.querySelector('#filter-form button[type=submit]')")
            browser.wait("the filtered list",
                         "document.querySelectorAll('#records tr.row').length === 1 && "
                         f"!!document.querySelector('#records tr[data-id=\"{rec}\"]')")
            # Edit: open the record, change a field, save.
            browser.click(f"document.querySelector('#records tr[data-id=\"{rec}\"]')")
            browser.wait("the edit form", "document.getElementById('save').textContent === 'Save'")
            browser.type_into("field-last_name", "Edited")
            browser.click("document.getElementById('save')")
            browser.wait("saved", "document.getElementById('form-msg').textContent === 'Saved'")
            self.assertEqual(n.call("GET", f"/store/contacts/{rec}")[1]["data"][0]["last_name"], "Edited")
            browser.wait("the edit in the feed", "document.getElementById('feed').textContent.includes('Edited')")
            shot = base64.b64decode(browser.send("Page.captureScreenshot", format="png")["data"])
            self.assertTrue(shot.startswith(b"\x89PNG") and len(shot) > 10000)
            target = os.environ.get("CRDT_CONSOLE_SCREENSHOT") or os.path.join(n.dir, "console.png")
            with open(target, "wb") as f:
                f.write(shot)
            # Delete.
            browser.click("document.getElementById('delete')")
            browser.wait("deleted", "document.getElementById('form-msg').textContent === 'Deleted'")
            self.assertEqual(n.call("GET", f"/store/contacts/{rec}")[0], 404)
            browser.wait("the deletion in the feed",
                         "[...document.querySelectorAll('#feed .kind')].some(k => k.textContent === 'delete')")
            self.assertEqual(browser.errors(), [])
        finally:
            browser.close()


if __name__ == "__main__":
    unittest.main()
