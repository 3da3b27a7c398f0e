#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints a fuzz input as the operations ops_fuzz.cpp performs: python3 decode.py FILE..."""
import sys

from make_seed_corpus import OPS

MAX_OPS = 160


def decode(data):
    if not data:
        return "empty input: nothing happens"
    c = data[0]
    slots = 1 + (c & 3) % 3
    drivers = 1 + ((c >> 2) & 3) % 3
    lines = [f"{slots} ste threads, {drivers} drivers, prelude on thread 0: {bool(c & 0x10)}"]
    n = min((len(data) - 1) // 2, MAX_OPS)
    for i in range(n):
        code, arg = data[1 + 2 * i], data[2 + 2 * i]
        name = OPS[code % len(OPS)]
        x, y = arg % slots, (arg // 4) % slots
        lines.append(f"  op {i:3} driver {i % drivers}: {name:18} x={x} y={y} arg=0x{arg:02x}"
                     f"{' fail' if arg & 0x80 else ''}")
    return "\n".join(lines)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            print(f"{path}:\n{decode(f.read())}")
