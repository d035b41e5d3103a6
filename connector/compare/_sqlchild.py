"""A read-only SQLite query in a child process, and the child itself (standard library only).

The full rebuild runs its big aggregate queries beside the rules. In a thread of this process SQLite
computes without the GIL, but takes it back for every row it returns, while the rules' Python work
holds it: strace of a rebuild counted 391,000 futex calls (GIL hand-overs), and the queries crawled
while the rules ran.
A child process has its own interpreter, so the queries and the rules really share the two cores.
The child is started as `python -I -S <this file>`: isolated, without site-packages, importing only
sqlite3 and marshal; it reads (path, sql, params) and writes the rows back, both as marshal data
(plain str / int / float / None values, the same interpreter on both ends).
"""

from __future__ import annotations

import marshal
import sqlite3
import subprocess
import sys


def query(path: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run `sql` on a read-only connection to the SQLite file `path` in a child process (in this
    one when no child can be started: no interpreter path, a process limit — slower, same rows)."""
    try:
        done = subprocess.run([sys.executable, "-I", "-S", __file__], input=marshal.dumps((path, sql, tuple(params))),
                              capture_output=True, check=False)
    except OSError:
        return _run(path, sql, tuple(params))
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise sqlite3.OperationalError(f"comparator query failed in its child process (exit {done.returncode}): "
                                       f"{detail[-1] if detail else 'no output'}")
    status, payload = marshal.loads(done.stdout)
    if status != "ok":
        raise sqlite3.OperationalError(payload)
    return payload


def _run(path: str, sql: str, params: tuple) -> list[tuple]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def main() -> None:
    path, sql, params = marshal.load(sys.stdin.buffer)
    try:
        reply = ("ok", _run(path, sql, params))
    except sqlite3.Error as exc:  # reported to the parent, which raises it as its own error
        reply = ("error", f"{type(exc).__name__}: {exc}")
    sys.stdout.buffer.write(marshal.dumps(reply))


if __name__ == "__main__":
    main()
