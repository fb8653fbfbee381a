#!/usr/bin/env python3
"""Mutation check of the guarantees that matter: applies one mutant at a time
(an exact text replacement in the sources), rebuilds, runs the tests, and
reverts. A mutant the tests do not kill is a guarantee no test holds.

  scripts/mutate.py              # unit tests but the scale suite (about 2 minutes a mutant)
  scripts/mutate.py --all        # ctest (units and end-to-end) and the acceptance suite
  scripts/mutate.py --only ack-before-ok,hlc-smallest

Run it before a release and put the score in the README. It edits the working
tree (each file is restored afterwards, also on Ctrl-C): run it on a clean
checkout."""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))

# (name, file, original text, mutated text, the guarantee it breaks)
MUTANTS = [
    ("ack-before-ok", "actors/sync_exchange.cpp",
     "            outbox_ack acks{page.through, page.messages.size()};\n",
     "            outbox_ack acks{page.through, page.messages.size()};\n"
     "            self->request(st->queue, sync_ask_timeout, ack_atom::value, acks)\n"
     "                .then([](uint64_t) {});\n",
     "outbox entries leave before the hub answered ok (at-least-once)"),
    ("hlc-smallest", "actors/clock.cpp",
     "if (!greatest || s > *greatest) {",
     "if (!greatest || s < *greatest) {",
     "the clock merges the smallest received stamp, not the greatest"),
    ("queue-unbounded", "app/node.cpp",
     "svc->queue, opts.write_queue_limit));",
     "svc->queue, ~size_t{0}));",
     "WRITE_QUEUE_LIMIT is not handed to the applier (no back pressure)"),
    ("hub-echoes-caller", "actors/hub.cpp",
     "q.exclude = req.client_id;",
     "q.exclude = std::string{};",
     "the hub sends a node its own messages back"),
    ("relayed-drift-unchecked", "protocol/sync.cpp",
     "    if (ts->millis - now > max_drift)",
     "    if (own_group && ts->millis - now > max_drift)",
     "messages of relayed groups skip the drift check"),
    ("login-success-no-reset", "actors/auth.cpp",
     '  st.by_email.success("email:" + email);',
     "",
     "a good login does not start the failure count over"),
    ("address-not-counted", "actors/auth.cpp",
     '    st.by_address.failure("addr:" + address_key(peer), now);',
     "    ;",
     "failures are not counted per client address"),
    ("lww-reversed", "protocol/stamps.cpp",
     'is_creation_field(field) ? ts < it->second : ts > it->second;',
     'is_creation_field(field) ? ts < it->second : ts < it->second;',
     "the older write wins a cell"),
    # (Bodies are parsed without kParseValidateEncodingFlag: this check of
    # every string after parsing is the only UTF-8 check of a body.)
    ("utf8-unchecked", "http/api.cpp",
     "  if (!valid_utf8_strings(out.doc))",
     "  if (false)",
     "record bodies are not checked for UTF-8 after parsing (escaped lone surrogates)"),
    ("disk-full-is-500", "storage/sqlite.cpp",
     "& 0xff) == SQLITE_FULL)",
     "& 0xff) == -1)",
     "a full disk is reported as an internal error"),
    ("no-max-connections", "http/server.cpp",
     "if (*self->open_ > self->opts_.max_connections)",
     "if (false)",
     "connections beyond MAX_CONNECTIONS are served"),
    ("reads-ignore-organization", "http/store_routes.cpp",
     "      ->request(ctx.reader(), read_timeout, get_atom::value, table, id,\n"
     "                ctx.who().organization_id)",
     "      ->request(ctx.reader(), read_timeout, get_atom::value, table, id,\n"
     "                std::string{})",
     "a read by id does not pass the caller's organization"),
    ("head-not-answered", "http/server.cpp",
     "    if (is_parse_error(ec)) {",
     "    if (false) {",
     "a malformed request head is dropped without an answer"),
    ("definition-latest-wins", "storage/definitions.cpp",
     "  schema_changed_ = true;\n  if (m.timestamp < old->timestamp) {",
     "  schema_changed_ = true;\n  if (m.timestamp > old->timestamp) {",
     "the latest definition of a field wins instead of the earliest"),
    ("definition-no-replay", "storage/definitions.cpp",
     "    if (auto err = put_local(detail::replay_key(m.row), \"1\"))\n      return err;\n",
     "",
     "a field whose winning definition changes keeps values that no longer fit"),
    ("losing-type-applied", "storage/write_store.cpp",
     "      if (!value_fits(*f, m.val))\n        return caf::none;",
     "      if (false)\n        return caf::none;",
     "values of a losing definition's type reach the table"),
    ("filter-ne-drops-null", "storage/read_store.cpp",
     '    return " IS NOT "; // a missing value differs too',
     '    return " != "; // a missing value differs too',
     "where[f][ne]= leaves out records without a value"),
    ("cursor-ignores-ties", "storage/read_store.cpp",
     '  sql += " AND (" + col + beyond + v + " OR (" + col + " = " + v + " AND id"\n         + beyond + id + ")";',
     '  sql += " AND (" + col + beyond + v + " OR (" + col + " = " + v + " AND id"\n         + " >= " + id + ")";',
     "a cursor resumes ties on the order field at the wrong id"),
]


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def build():
    r = run(["cmake", "--build", BUILD, "-j2", "--target", "crdt-store", "unit_tests"])
    return r.returncode == 0, r.stdout.decode(errors="replace")[-2000:]


def tests(full):
    if not full:
        # Every suite but the slow scale suite (sync_scale_tests, ~2 min).
        r = run([os.path.join(BUILD, "tests", "unit_tests"), "--log_level=nothing",
                 "--report_level=no", "--run_test=!sync_scale_tests"], timeout=3600)
        return r.returncode == 0
    r = run(["ctest", "--test-dir", BUILD, "-j2", "-E", "image|docker"], timeout=3600)
    if r.returncode != 0:
        return False
    shared = os.path.join(os.path.dirname(ROOT), "shared", "acceptance", "acceptance.py")
    r = run([sys.executable, shared, "--binary", os.path.join(BUILD, "crdt-store"),
             "--schema", "schema"], timeout=3600)
    return r.returncode == 0 and b" 0 failed" in r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true", help="end-to-end and acceptance too")
    ap.add_argument("--only", default="", help="comma-separated mutant names")
    args = ap.parse_args()
    only = {x for x in args.only.split(",") if x}
    ok, out = build()
    # A full run checks the unmutated tree first; --only trusts it.
    if not ok or (not only and not tests(args.all)):
        sys.exit("mutate.py: the unmutated tree must build and pass first\n" + out)
    killed, survived = [], []
    for name, path, old, new, what in MUTANTS:
        if only and name not in only:
            continue
        full = os.path.join(ROOT, path)
        with open(full) as f:
            original = f.read()
        if original.count(old) != 1:
            print(f"{name}: its text is not (exactly once) in {path}; update the list", flush=True)
            survived.append(name)
            continue
        start = time.time()
        try:
            with open(full, "w") as f:
                f.write(original.replace(old, new))
            built, log = build()
            dead = built and not tests(args.all)
        finally:
            with open(full, "w") as f:
                f.write(original)
        if not built:
            # Not a kill: the mutant itself is broken.
            print(f"{name}: DID NOT BUILD, fix the mutant\n{log}", flush=True)
            survived.append(name)
            continue
        (killed if dead else survived).append(name)
        print(f"{name}: {'killed' if dead else 'SURVIVED'} ({time.time() - start:.0f} s) - {what}",
              flush=True)
    build()
    total = len(killed) + len(survived)
    print(f"mutation score: {len(killed)}/{total} killed"
          + (f"; survivors: {', '.join(survived)}" if survived else ""))
    sys.exit(1 if survived else 0)


if __name__ == "__main__":
    main()
