#!/usr/bin/env python3
"""Print a bitqueue run's results from Python, as `producer results` does.

    results.py --run-id ID [--prefix bitqueue] [--redis URL]

reads the run's record for its number of batches, then every batch's result
hash (fields v, count, width, bits: see "Result hash" in docs/contracts.md),
checks it, and prints one line per integer of the run, in input order:
the integer in decimal, a tab, and its bits, most significant first,
without leading zeros ("0" for 0). It needs redis-py alone (Debian's
python3-redis).

Exit codes: 0 ok, 1 a record or result missing or malformed, or Redis
failed, 2 bad usage.
"""

import argparse
import os
import sys

import redis

RESULT_VERSION = b"1"
CHUNK = 256  # results read in one round trip


class Failed(Exception):
    """A record or result that is not there or not as the contract says: exit 1."""


def rows(h, where):
    """The integers of a result hash h (HGETALL's reply), in batch order."""
    if set(h) != {b"v", b"count", b"width", b"bits"}:
        raise Failed(f"{where}: fields {sorted(k.decode() for k in h)}, want v, count, width and bits")
    if h[b"v"] != RESULT_VERSION:
        raise Failed(f"{where}: version {h[b'v'].decode()!r}, want 1")
    count, width, bits = int(h[b"count"]), int(h[b"width"]), h[b"bits"]
    if not 1 <= width <= 63 or len(bits) != (count * width + 7) // 8:
        raise Failed(f"{where}: bits is {len(bits)} bytes, count {count} x width {width} needs {(count * width + 7) // 8}")
    mask = (1 << width) - 1
    for i in range(count):
        # Row i is width bits from bit offset i*width, bit 0 being the most
        # significant bit of byte 0: read the bytes it spans, shift it down.
        start, end = i * width, (i + 1) * width
        first, last = start // 8, (end + 7) // 8
        yield int.from_bytes(bits[first:last], "big") >> (last * 8 - end) & mask


def main(argv):
    env = os.environ.get
    p = argparse.ArgumentParser(prog="results.py", description="Print a bitqueue run's results.")
    p.add_argument("--redis", default=env("BITQUEUE_REDIS_URL") or env("REDIS_URL") or "redis://127.0.0.1:6379/0",
                   help="Redis URL, redis:// or rediss:// (BITQUEUE_REDIS_URL, REDIS_URL)")
    p.add_argument("--run-id", default=env("BITQUEUE_RUN_ID"), help="id of the run (BITQUEUE_RUN_ID)")
    p.add_argument("--prefix", default=env("BITQUEUE_PREFIX") or "bitqueue", help="root of bitqueue's keys (BITQUEUE_PREFIX)")
    a = p.parse_args(argv)
    if not a.run_id:
        print("results.py: --run-id is required", file=sys.stderr)
        return 2
    out = sys.stdout
    try:
        r = redis.Redis.from_url(a.redis)
        key = f"{a.prefix}:run:{a.run_id}"
        rec = r.hgetall(key)
        if not rec:
            raise Failed(f"run {a.run_id} has no record at {key}")
        if rec.get(b"state") == b"deleted":
            raise Failed(f"run {a.run_id} was deleted")
        batches = int(rec[b"batches"])
        for first in range(0, batches, CHUNK):
            seqs = range(first, min(first + CHUNK, batches))
            with r.pipeline(transaction=False) as pipe:
                for seq in seqs:
                    pipe.hgetall(f"{a.prefix}:result:{a.run_id}:{seq}")
                hashes = pipe.execute()
            for seq, h in zip(seqs, hashes):
                where = f"batch {a.run_id}:{seq}: {a.prefix}:result:{a.run_id}:{seq}"
                if not h:
                    raise Failed(f"{where}: result not found")
                out.write("".join(f"{n}\t{n:b}\n" for n in rows(h, where)))
    except Failed as e:
        print(f"results.py: {e}", file=sys.stderr)
        return 1
    except redis.RedisError as e:
        print(f"results.py: redis: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
