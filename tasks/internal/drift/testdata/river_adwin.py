"""Change points of river's ADWIN on streams read as JSON from stdin.

Input: [{"name", "delta", "clock", "values": [...]}, ...]
Output: {"river": "<version>", "changes": {name: [index, ...]}}
"""

import json
import sys

import river
from river import drift


def main() -> None:
    cases = json.load(sys.stdin)
    out = {}
    for case in cases:
        det = drift.ADWIN(delta=case["delta"], clock=case["clock"])
        points = []
        for i, x in enumerate(case["values"]):
            det.update(float(x))
            if det.drift_detected:
                points.append(i)
        out[case["name"]] = points
    json.dump({"river": river.__version__, "changes": out}, sys.stdout)


if __name__ == "__main__":
    main()
