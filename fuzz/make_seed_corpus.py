#!/usr/bin/env python3
"""Writes the hand-made seeds (seed-*) into fuzz/corpus/. Each file: one config byte, then
(opcode, argument) pairs; see the top of ops_fuzz.cpp. Opcodes follow `enum op` there.
The committed corpus keeps the seeds that still add edge coverage next to inputs the
fuzzer found (named by their SHA-1), as chosen by
  ste_fuzz -merge=1 -use_counters=0 NEW_DIR SEEDS_AND_FOUND_DIRS...
so running this script adds back a few redundant seeds, which is harmless."""
import os
import random

OPS = ["submit", "submit_throw", "submit_throw_int", "post", "post_throw", "busy",
       "submit_for", "submit_until", "destroy", "join", "join_in_task", "bound_make",
       "bound_reset", "bound_get", "local_thread", "nested", "block_on", "submit_async",
       "submit_async_plain", "spawn", "schedule_plain", "empty_handle", "tags",
       "post_after", "post_every", "timer_cancel", "timer_drop", "fork"]
OP = {name: i for i, name in enumerate(OPS)}


def config(slots, drivers, prelude=False):
    return bytes([((slots - 1) & 3) | (((drivers - 1) & 3) << 2) | (0x10 if prelude else 0)])


def ops(*pairs):
    out = bytearray()
    for name, arg in pairs:
        out += bytes([OP[name], arg & 0xFF])
    return bytes(out)


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(here, exist_ok=True)
    seeds = {}
    # One operation kind at a time, on 2 threads by 2 drivers, with a few arguments.
    for name in OPS:
        seeds["one-" + name] = config(2, 2) + ops(*[(name, a) for a in (0, 1, 5, 0x44, 0x85, 0x62)])
    # Joins racing every other kind of hand-off.
    seeds["join-race"] = config(3, 3) + ops(
        *[(n, a) for n, a in [("busy", 0x7F), ("submit", 0), ("post", 1), ("submit_for", 30),
                              ("spawn", 0x60), ("bound_make", 0), ("join", 0), ("submit", 0),
                              ("block_on", 0x41), ("submit_async", 0x04), ("bound_get", 0),
                              ("join", 1), ("post", 1), ("destroy", 1), ("join", 2)]])
    seeds["deadlock-cycle"] = config(2, 3) + ops(
        *[("nested", 0x04), ("nested", 0x01), ("join_in_task", 0x04), ("join_in_task", 0x01)] * 4)
    seeds["timeouts"] = config(1, 3) + ops(*[("busy", 0x7F), ("submit_for", 3), ("submit_until", 9)] * 6)
    seeds["prelude-and-locals"] = config(1, 1, True) + ops(
        ("local_thread", 0), ("local_thread", 1), ("local_thread", 2), ("local_thread", 3))
    seeds["coroutines"] = config(3, 2) + ops(
        *[("spawn", 0x76), ("block_on", 0x45), ("submit_async", 0x86), ("schedule_plain", 2),
          ("submit_async_plain", 1), ("spawn", 0xD1)] * 3)
    seeds["bound-life"] = config(2, 2) + ops(
        *[("bound_make", 0), ("bound_make", 1), ("bound_get", 0), ("bound_make", 0x82),
          ("bound_reset", 1), ("join", 1), ("bound_get", 0), ("bound_reset", 0)])
    # Delayed and periodic tasks (arguments: see driver::post_timer and timer_cancel; bits
    # 2-3 pick the handle slot, 0x40 is 1 h away / cancel from a task, 0x20 drops the
    # handle, 0x10 posts from a task, 0x08 is post_at on system_clock, 0x80 throws).
    seeds["timers"] = config(2, 2) + ops(
        *[("post_after", 0x00), ("post_after", 0x44), ("post_every", 0x09), ("post_every", 0x4C),
          ("timer_cancel", 0x00), ("timer_cancel", 0x04), ("timer_cancel", 0x48),
          ("post_after", 0x91), ("post_after", 0x28), ("post_every", 0xB2), ("busy", 0x7F),
          ("timer_cancel", 0x40), ("timer_drop", 0x04), ("post_after", 0x5C), ("timer_cancel", 0x1C)])
    seeds["timers-join-race"] = config(3, 3) + ops(
        *[("post_every", 0x01), ("post_after", 0x05), ("post_after", 0x46), ("post_every", 0x8A),
          ("join", 0), ("timer_cancel", 0x00), ("timer_cancel", 0x44), ("post_after", 0x01),
          ("join", 1), ("timer_cancel", 0x05), ("post_every", 0x52), ("timer_cancel", 0x46),
          ("join", 2), ("timer_cancel", 0x0A), ("timer_drop", 0x08)])
    # Forks taken while the other drivers hand work over, make values and timers, join.
    seeds["fork-race"] = config(3, 3) + ops(
        *[(n, a) for n, a in [("busy", 0x7F), ("submit", 0), ("post", 1), ("bound_make", 0),
                              ("fork", 0), ("submit_for", 30), ("post_after", 0x41),
                              ("spawn", 0x60), ("fork", 1), ("block_on", 0x41), ("join", 2),
                              ("submit_async", 0x04), ("fork", 2), ("local_thread", 0)]])
    seeds["timers-cancel-race"] = config(1, 3) + ops(
        *[("post_every", 0x00), ("timer_cancel", 0x00), ("post_after", 0x04), ("timer_cancel", 0x04),
          ("post_after", 0x88), ("timer_cancel", 0x48)] * 5)
    rnd = random.Random(6)
    for i in range(6):
        n = rnd.randrange(8, 60)
        seeds[f"random-{i}"] = bytes([rnd.randrange(256)]) + bytes(rnd.randrange(256) for _ in range(2 * n))
    for name, data in seeds.items():
        with open(os.path.join(here, "seed-" + name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds)} seeds to {here}")


if __name__ == "__main__":
    main()
