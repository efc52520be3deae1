#!/usr/bin/env python3
"""Enqueue a bitqueue run from Python, as the Go producer does.

    producer.py --input FILE [--run-id ID] [--queue bits] [--shards 1]
                [--batch-size 1000] [--prefix bitqueue] [--redis URL]

reads decimal integers separated by whitespace from FILE (- for stdin),
binds the run id to them in the run's record, enqueues every batch that is
neither done nor queued as an asynq task that bitqueue's workers run, wakes
the workers, and prints the run id on stdout. Running it again with the
same id and input enqueues nothing twice; the Go producer accepts the run as
its own (`producer --input FILE --run-id ID`, `producer status --run-id ID`).

Everything it writes is bitqueue's wire contract, described in
docs/contracts.md: the run record and its create-if-absent script, the
runs index, the asynq task (a hand-encoded protobuf TaskMessage stored as
asynq v0.26's enqueue script stores it), the batch payload, the wake-up.
It needs redis-py alone (Debian's python3-redis).

Each flag has a variable, read when the flag is not given: BITQUEUE_ and
the flag's name in upper case with underscores (BITQUEUE_REDIS_URL, or
REDIS_URL, for --redis). Exit codes: 0 ok, 1 Redis failed, 2 bad usage or
input, or a run id bound to another run.
"""

import argparse
import calendar
import hashlib
import os
import secrets
import sys
import time

import redis

# --- Wire formats (Go: internal/base) -------------------------------------

TYPE_BITS = "bits:convert"  # the asynq task type of a batch
PAYLOAD_VERSION = 1
RECORD_VERSION = 1
MAX_BATCH = 100_000
MAX_RUN_ID = 128
MAX_SHARDS = 256
MAX_INT = 2**63 - 1
MAX_TOKEN = 64  # longest token the Go producer reads
WAKE_MESSAGE = "work"
RUN_ID_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def record_key(prefix, run_id):
    return f"{prefix}:run:{run_id}"


def result_key(prefix, run_id, seq):
    return f"{prefix}:result:{run_id}:{seq}"


def done_key(prefix, run_id):
    return f"{prefix}:done:{run_id}"


def runs_key(prefix):
    return f"{prefix}:runs"


def wake_channel(prefix):
    return f"{prefix}:wake"


def task_id(run_id, seq):
    return f"{run_id}:{seq}"


def fnv1a64(data):
    """64-bit FNV-1a, as Go's hash/fnv New64a."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def queue_of(queue, shards, tid):
    """The queue of a task: queue itself, or with shards above 1 the shard
    <queue>-<i> that the FNV-1a hash of the task id picks (base.QueueOf)."""
    if shards <= 1:
        return queue
    return f"{queue}-{fnv1a64(tid.encode()) % shards}"


def uvarint(n):
    """n as an unsigned varint (Go's binary.AppendUvarint; protobuf's varint)."""
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_batch(run_id, seq, nums):
    """The payload of a batch, byte for byte as base.EncodeBatch writes it:
    version byte, uvarint run-id length, run id, uvarint seq, uvarint count,
    width byte (the fewest bytes that hold the largest integer), then each
    integer in width bytes, big-endian."""
    width = max(1, (max(nums).bit_length() + 7) // 8)
    rid = run_id.encode()
    head = bytes([PAYLOAD_VERSION]) + uvarint(len(rid)) + rid + uvarint(seq) + uvarint(len(nums)) + bytes([width])
    return head + b"".join(n.to_bytes(width, "big") for n in nums)


def format_time(ns):
    """A Unix time in nanoseconds as the record holds it: RFC 3339 in UTC,
    fraction without trailing zeros (Go's time.RFC3339Nano)."""
    sec, frac = divmod(ns, 10**9)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    digits = f"{frac:09d}".rstrip("0")
    return text + ("." + digits if digits else "") + "Z"


# --- The asynq task envelope (asynq v0.26: internal/proto/asynq.proto) -----


def _field(number, wire_type):
    return uvarint(number << 3 | wire_type)


def _string(number, value):
    data = value.encode() if isinstance(value, str) else value
    return _field(number, 2) + uvarint(len(data)) + data if data else b""


def _int(number, value):
    return _field(number, 0) + uvarint(value & 0xFFFFFFFFFFFFFFFF) if value else b""


def encode_task_message(type_, payload, id_, queue, retry, timeout, deadline, retention):
    """asynq's TaskMessage in protobuf (proto3: fields in number order, zero
    values left out), as asynq's Go client encodes it: type = 1, payload = 2,
    id = 3, queue = 4, retry = 5, timeout = 8 (seconds), deadline = 9 (Unix
    seconds, 0 for none), retention = 12 (seconds)."""
    return b"".join([
        _string(1, type_),
        _string(2, payload),
        _string(3, id_),
        _string(4, queue),
        _int(5, retry),
        _int(8, timeout),
        _int(9, deadline),
        _int(12, retention),
    ])


# asynq v0.26's enqueueCmd (internal/rdb/rdb.go), unchanged: it refuses a
# task id that exists in the queue, so that a batch is never queued twice.
ENQUEUE_SCRIPT = """
if redis.call("EXISTS", KEYS[1]) == 1 then
	return 0
end
redis.call("HSET", KEYS[1],
           "msg", ARGV[1],
           "state", "pending",
           "pending_since", ARGV[3])
redis.call("LPUSH", KEYS[2], ARGV[2])
return 1
"""

# bitqueue's create-if-absent of a run record (internal/rdb/records.go): on
# one key, so cluster-safe; nil when it created the record, the record that
# was there otherwise.
CREATE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HGETALL', KEYS[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return false
"""

# bitqueue's end of a record's clearing state (internal/rdb/records.go),
# unless the record became a tombstone meanwhile.
CLEARED_SCRIPT = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


# --- The producer ------------------------------------------------------------


class Refused(Exception):
    """Bad usage or input, or a run id bound to another run: exit 2."""


class Failed(Exception):
    """The run cannot go on now (its record vanished): exit 1."""


def read_input(path):
    """The integers of path (- for stdin) and the run's input identity,
    sha256:<hex> of the bytes read; tokens as the Go producer reads them."""
    name = "stdin" if path == "-" else path
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as e:
        raise Refused(f"{name}: cannot be read: {e.strerror}") from None
    nums = []
    for line_no, line in enumerate(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"), 1):
        for tok in line.split():
            shown = tok[:MAX_TOKEN].decode("latin-1")
            if len(tok) > MAX_TOKEN:
                raise Refused(f"{name}:{line_no}: {shown!r} is longer than {MAX_TOKEN} bytes; want a decimal integer in [0, 2^63-1]")
            if not tok.isdigit():
                raise Refused(f"{name}:{line_no}: {shown!r} is not a decimal integer (digits 0-9 only, no sign, no exponent)")
            n = int(tok)
            if n > MAX_INT:
                raise Refused(f"{name}:{line_no}: {shown!r} is above 2^63-1 = {MAX_INT}")
            nums.append(n)
    if not nums:
        raise Refused(f"{name}: holds no integers")
    return nums, "sha256:" + hashlib.sha256(data).hexdigest()


# The producer's settings: flag, variables read when the flag is not given
# (the first one set wins), default, help.
SETTINGS = [
    ("redis", ["BITQUEUE_REDIS_URL", "REDIS_URL"], "redis://127.0.0.1:6379/0", "Redis URL, redis:// or rediss://"),
    ("input", ["BITQUEUE_INPUT"], None, "file of decimal integers separated by whitespace, - for stdin"),
    ("run-id", ["BITQUEUE_RUN_ID"], None, "id of the run, [A-Za-z0-9._-]{1,128} (default: generated)"),
    ("queue", ["BITQUEUE_QUEUE"], "bits", "queue to enqueue on; with --shards, the base of the shards' names"),
    ("shards", ["BITQUEUE_SHARDS"], "1", f"queues to spread the batches over, 1..{MAX_SHARDS}"),
    ("batch-size", ["BITQUEUE_BATCH_SIZE"], "1000", f"integers per batch, 1..{MAX_BATCH}"),
    ("prefix", ["BITQUEUE_PREFIX"], "bitqueue", "root of bitqueue's keys, as given to the workers"),
    ("max-retry", ["BITQUEUE_MAX_RETRY"], "10", "retries of a failing batch before it is archived, 0..100"),
    ("task-timeout", ["BITQUEUE_TASK_TIMEOUT"], "60", "seconds a worker may spend on one batch, 1..86400"),
    ("retention", ["BITQUEUE_RETENTION"], "0", "seconds a finished batch's task is kept, 0..604800"),
    ("record-ttl", ["BITQUEUE_RECORD_TTL"], "86400", "seconds the run's record is kept, at least 1"),
]


def parse_args(argv):
    """The settings from argv, then the environment, then the defaults; each
    error names the value and the flag or variable it came from."""
    p = argparse.ArgumentParser(prog="producer.py", description="Enqueue a bitqueue run from Python.")
    for flag, names, default, text in SETTINGS:
        p.add_argument("--" + flag, help=f"{text} ({', '.join(names)})")
    a = p.parse_args(argv)
    source = {}
    for flag, names, default, _ in SETTINGS:
        attr = flag.replace("-", "_")
        if getattr(a, attr) is not None:
            source[attr] = f"--{flag} {getattr(a, attr)}"
            continue
        name = next((n for n in names if os.environ.get(n)), None)
        setattr(a, attr, os.environ[name] if name else default)
        source[attr] = f"{name}={os.environ[name]}" if name else f"--{flag} {default}"

    def whole(attr, lo, hi):
        value = getattr(a, attr)
        if not value.isdigit() or not lo <= int(value) <= hi:
            raise Refused(f"{source[attr]}: want a whole number from {lo} to {hi}")
        setattr(a, attr, int(value))

    whole("shards", 1, MAX_SHARDS)
    whole("batch_size", 1, MAX_BATCH)
    whole("max_retry", 0, 100)
    whole("task_timeout", 1, 86400)
    whole("retention", 0, 7 * 86400)
    whole("record_ttl", 1, 10 * 365 * 86400)
    if not a.input:
        raise Refused("--input is required: a file of integers, or - for stdin")
    if a.run_id is None:
        a.run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)
    rid = a.run_id.encode()
    if not 1 <= len(rid) <= MAX_RUN_ID or not set(rid) <= RUN_ID_CHARS:
        raise Refused(f"{source['run_id']}: want 1 to {MAX_RUN_ID} characters of [A-Za-z0-9._-]")
    if not a.queue or any(c.isspace() or c in ",{}" for c in a.queue):
        raise Refused(f"{source['queue']}: want a name without spaces, commas or braces")
    if not a.prefix or any(c.isspace() for c in a.prefix):
        raise Refused(f"{source['prefix']}: want a name without spaces")
    return a


def bind(r, a, batches, integers, identity):
    """Creates the run's record if absent, or checks the one there against
    this run's fingerprint; returns whether this producer must clear what an
    earlier run of the id left (it created the record, or takes over the
    clearing of a creator that stopped), and the record's creation time."""
    now = format_time(time.time_ns())
    fields = [
        "v", RECORD_VERSION, "queue", a.queue, "shards", a.shards, "batches", batches,
        "integers", integers, "batch_size", a.batch_size, "input", identity,
        "created", now, "updated", now,
        # Nothing may be enqueued until this producer, having created the
        # record, has cleared what an earlier run of the id left.
        "state", "clearing",
    ]
    key = record_key(a.prefix, a.run_id)
    have = r.register_script(CREATE_SCRIPT)(keys=[key], args=[a.record_ttl * 1000, *fields])
    if have is None:
        return True, now
    rec = {have[i].decode(): have[i + 1].decode() for i in range(0, len(have), 2)}
    # Another producer created it and is clearing: wait, as bitqueue's own
    # producers do; past runs.ClearingWait from its creation its creator
    # stopped while clearing, and this producer takes the clearing over.
    wait = 60 + int(rec.get("batches", "0")) * 10e-6
    deadline = min(_unix_ms(rec["created"]) / 1000 + wait, time.time() + wait)
    while rec.get("state") == "clearing" and time.time() < deadline:
        time.sleep(0.05)
        rec = {k.decode(): v.decode() for k, v in r.hgetall(key).items()}
        if not rec:
            raise Failed(f"run {a.run_id} has no record in Redis any more")
    if rec.get("state") == "deleted":
        raise Refused(f"run {a.run_id} was deleted; give the run another id")
    for field, given in [("input", identity), ("integers", integers), ("batch_size", a.batch_size),
                         ("shards", a.shards), ("queue", a.queue)]:
        if rec.get(field, "") != str(given):
            raise Refused(f'run {a.run_id} is bound to {field}="{rec.get(field, "")}", not "{given}": nothing enqueued')
    with r.pipeline(transaction=True) as p:
        p.hset(key, "updated", now)
        p.pexpire(key, a.record_ttl * 1000)
        p.execute()
    return rec.get("state") == "clearing", rec["created"]


def produce(r, a, nums, identity):
    """Enqueues the run; returns (batches, new, already_queued, already_done)."""
    size = a.batch_size
    batches = (len(nums) + size - 1) // size
    fresh, created = bind(r, a, batches, len(nums), identity)
    # The index of runs, for `producer list`: scored by creation, in ms.
    r.zadd(runs_key(a.prefix), {a.run_id: _unix_ms(created)}, nx=True)
    if fresh:
        # A new record, or one whose creator stopped while clearing: what an
        # earlier life of the id left behind is not this run's. The done
        # bitmap is the workers'; a producer only ever deletes it, here.
        with r.pipeline(transaction=False) as p:
            for seq in range(batches):
                p.delete(result_key(a.prefix, a.run_id, seq))
            p.delete(done_key(a.prefix, a.run_id))
            p.execute()
        r.register_script(CLEARED_SCRIPT)(keys=[record_key(a.prefix, a.run_id)], args=["state", "clearing"])

    enqueue = r.register_script(ENQUEUE_SCRIPT)
    queues = set()
    new = queued = done = 0
    woke = 0.0
    chunk = 500
    for first in range(0, batches, chunk):
        seqs = range(first, min(first + chunk, batches))
        if not fresh:
            # A batch is done when its result exists.
            with r.pipeline(transaction=False) as p:
                for seq in seqs:
                    p.exists(result_key(a.prefix, a.run_id, seq))
                exists = p.execute()
        else:
            exists = [0] * len(seqs)
        with r.pipeline(transaction=False) as p:
            for seq, have in zip(seqs, exists):
                if have:
                    done += 1
                    continue
                tid = task_id(a.run_id, seq)
                queue = queue_of(a.queue, a.shards, tid)
                if queue not in queues:
                    r.sadd("asynq:queues", queue)  # asynq lists its queues here
                    queues.add(queue)
                payload = encode_batch(a.run_id, seq, nums[seq * size:(seq + 1) * size])
                msg = encode_task_message(TYPE_BITS, payload, tid, queue, a.max_retry, a.task_timeout, 0, a.retention)
                enqueue(keys=[f"asynq:{{{queue}}}:t:{tid}", f"asynq:{{{queue}}}:pending"],
                        args=[msg, tid, time.time_ns()], client=p)
            for reply in p.execute():
                if reply == 1:
                    new += 1
                elif reply == 0:
                    queued += 1  # the task id is taken: the batch is queued already
        if time.monotonic() - woke >= 1:
            r.publish(wake_channel(a.prefix), WAKE_MESSAGE)
            woke = time.monotonic()
    # Idle workers poll rarely: wake the fleet now that the batches are in.
    r.publish(wake_channel(a.prefix), WAKE_MESSAGE)
    return batches, new, queued, done


def _unix_ms(rfc3339):
    """Unix milliseconds of a time as format_time writes it."""
    whole, _, frac = rfc3339.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) * 1000 + int((frac + "000")[:3])


def main(argv):
    try:
        a = parse_args(argv)
        nums, identity = read_input(a.input)
    except Refused as e:
        print(f"producer.py: {e}", file=sys.stderr)
        return 2
    try:
        r = redis.Redis.from_url(a.redis)
        batches, new, queued, done = produce(r, a, nums, identity)
    except Refused as e:
        print(f"producer.py: {e}", file=sys.stderr)
        return 2
    except Failed as e:
        print(f"producer.py: {e}", file=sys.stderr)
        return 1
    except redis.RedisError as e:
        print(f"producer.py: redis: {e}", file=sys.stderr)
        return 1
    print(f"enqueued run_id={a.run_id} batches={batches} new={new} already_queued={queued} already_done={done}", file=sys.stderr)
    print(a.run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
