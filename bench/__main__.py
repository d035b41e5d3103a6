"""`make bench [ONLY=prefix]`: one line per figure, `BENCH <name> <value> <unit>`.

Each throughput figure comes with its ratio to a baseline measured in the same run on the same
data, so figures from different machines compare by ratio, not by absolute speed.
"""

from __future__ import annotations

import sys
import tempfile

from pathlib import Path

from bench import cases


def main(argv: list[str]) -> int:
    only = argv[0] if argv else ""
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in cases.CASES.items():
            if name.startswith(only):
                for line in case(Path(tmp)):
                    print(line, flush=True)
    return 0



if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
