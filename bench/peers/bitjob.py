"""bitqueue's job in Python, shared by the peers that bitqueue is measured against.

Each integer n becomes the digits of format(n, 'b'); a batch is stored like
bitqueue's result hash (fields v, count, width, bits): count rows of width
bits, width the bit length of the largest integer, each row right-aligned
(zero-padded on the left), most significant bit first, packed into bytes.

A peer talks to the program that runs it on stdin and stdout, one JSON line
at a time: it prints {"ready": true} once its workers are ready, starts its
clock when it reads a line, prints its report, and exits at end of input.
"""

import json
import sys
import time

import numpy as np
import redis

CACHE = []  # format(n, 'b') for every n below 2**k, built once per process
CLIENT = None  # this process's Redis connection


def build_cache(bits):
    global CACHE
    CACHE = [format(n, 'b') for n in range(1 << bits)]


def connect(url):
    global CLIENT
    CLIENT = redis.Redis.from_url(url)
    return CLIENT


def pack(nums):
    """Returns the width and the packed rows of a batch."""
    width = max(max(nums).bit_length(), 1)
    cache, size = CACHE, len(CACHE)
    digits = ''.join([(cache[n] if n < size else format(n, 'b')).zfill(width) for n in nums])
    # '0' is 0x30 and '1' is 0x31: the low bit of each character is its digit.
    return width, np.packbits(np.frombuffer(digits.encode('ascii'), np.uint8) & 1).tobytes()


def store(key, nums, ttl_ms):
    """Writes the result of one batch and its TTL in one transaction, as bitqueue does."""
    width, bits = pack(nums)
    with CLIENT.pipeline(transaction=True) as p:
        p.delete(key)
        p.hset(key, mapping={'v': 1, 'count': len(nums), 'width': width, 'bits': bits})
        p.pexpire(key, ttl_ms)
        p.execute()
    return len(nums)


def read_numbers(path):
    with open(path, 'rb') as f:
        return [int(t) for t in f.read().split()]


def batches(nums, size):
    return [nums[i:i + size] for i in range(0, len(nums), size)]


def wait_results(client, keys, poll=0.002):
    """Returns once every key exists.

    Batches finish nearly in order, so only the oldest missing key is polled
    (one small command, not to take CPU from the workers); once it exists,
    the keys after it are checked in one round trip.
    """
    pending = list(keys)
    while pending:
        if not client.exists(pending[0]):
            time.sleep(poll)
            continue
        window = pending[1:64]
        with client.pipeline(transaction=False) as p:
            for k in window:
                p.exists(k)
            found = p.execute()
        pending = [k for k, n in zip(window, found) if not n] + pending[64:]


def handshake():
    """Says the workers are ready and waits for the word to start."""
    say({'ready': True})
    if not sys.stdin.readline():
        sys.exit('peer: input closed before the start')


def say(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def versions(**more):
    v = {'python': sys.version.split()[0], 'numpy': np.__version__, 'redis-py': redis.__version__}
    v.update(more)
    return ', '.join(f'{k} {v}' for k, v in v.items())


def finish():
    """Waits for the end of input: the runner reads the processes' CPU time before they go."""
    sys.stdin.read()
