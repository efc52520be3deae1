"""The seed's shape: a multiprocessing.Pool whose initializer builds the
bitstring cache once per process in a global, fed batches through imap; each
worker stores its batch's result in Redis itself.

usage: pool_job.py REDIS_URL NUMBERS_FILE BATCH WORKERS KEY_BASE TTL_MS CACHE_BITS
The result of batch i goes to KEY_BASE + str(i).
"""

import multiprocessing
import sys
import time

import bitjob

TTL_MS = 0


def init(url, cache_bits, ttl_ms, ready):
    global TTL_MS
    TTL_MS = ttl_ms
    bitjob.build_cache(cache_bits)
    bitjob.connect(url)
    ready.release()


def convert(job):
    key, nums = job
    return bitjob.store(key, nums, TTL_MS)


def main(url, path, batch, workers, key_base, ttl_ms, cache_bits):
    batch, workers, ttl_ms, cache_bits = int(batch), int(workers), int(ttl_ms), int(cache_bits)
    ready = multiprocessing.Semaphore(0)
    pool = multiprocessing.Pool(workers, initializer=init, initargs=(url, cache_bits, ttl_ms, ready))
    # Start the clock once every cache is built, as bitqueue's workers are
    # started before its producer.
    for _ in range(workers):
        ready.acquire()
    client = bitjob.connect(url)
    bitjob.handshake()

    start = time.perf_counter()
    jobs = [(key_base + str(i), b) for i, b in enumerate(bitjob.batches(bitjob.read_numbers(path), batch))]
    ints = sum(pool.imap(convert, jobs))
    bitjob.wait_results(client, [k for k, _ in jobs])
    wall = time.perf_counter() - start

    bitjob.say({'peer': 'pool', 'wall_seconds': wall, 'ints': ints, 'batches': len(jobs),
                'versions': bitjob.versions()})
    bitjob.finish()
    pool.close()
    pool.join()


if __name__ == '__main__':
    main(*sys.argv[1:])
