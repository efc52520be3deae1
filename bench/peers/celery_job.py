"""A Celery app doing bitqueue's job: a prefork worker whose processes build
the bitstring cache once each in worker_process_init, and a task that stores
its batch's result in Redis itself (not through Celery's result backend), as
bitqueue's handler does.

Configured by the environment, since `celery worker` imports this module:
BQ_REDIS_URL, BQ_QUEUE, BQ_KEYPREFIX (Celery's own keys), BQ_READY_KEY
(counted up by each worker process and by the worker once ready),
BQ_TTL_MS, BQ_CACHE_BITS.

worker:   python3 -m celery -A celery_job worker -P prefork -c W -Q $BQ_QUEUE
producer: python3 celery_job.py NUMBERS_FILE BATCH KEY_BASE
The result of batch i goes to KEY_BASE + str(i).
"""

import os
import sys
import time

import celery
import redis
from celery import Celery, signals

import bitjob

URL = os.environ['BQ_REDIS_URL']
QUEUE = os.environ['BQ_QUEUE']
READY_KEY = os.environ['BQ_READY_KEY']
TTL_MS = int(os.environ.get('BQ_TTL_MS', '86400000'))
CACHE_BITS = int(os.environ.get('BQ_CACHE_BITS', '20'))
TASK = 'bits:convert'

app = Celery('celery_job', broker=URL)
app.conf.update(
    broker_transport_options={'global_keyprefix': os.environ['BQ_KEYPREFIX']},
    task_default_queue=QUEUE,
    task_serializer='json',
    accept_content=['json'],
    task_ignore_result=True,  # the task writes its result itself
    worker_enable_remote_control=False,  # no broadcast traffic a single job does not use
    worker_hijack_root_logger=False,
)


@signals.worker_process_init.connect
def build_cache(**_):
    bitjob.build_cache(CACHE_BITS)
    bitjob.connect(URL).incr(READY_KEY)


@signals.worker_ready.connect
def consuming(**_):
    redis.Redis.from_url(URL).incr(READY_KEY)


@app.task(name=TASK)
def convert(key, nums):
    return bitjob.store(key, nums, TTL_MS)


def produce(path, batch, key_base):
    client = bitjob.connect(URL)
    with app.producer_or_acquire() as producer:
        bitjob.handshake()

        start = time.perf_counter()
        parts = bitjob.batches(bitjob.read_numbers(path), int(batch))
        keys = [key_base + str(i) for i in range(len(parts))]
        for key, nums in zip(keys, parts):
            app.send_task(TASK, args=(key, nums), queue=QUEUE, producer=producer)
        bitjob.wait_results(client, keys)
        wall = time.perf_counter() - start

    bitjob.say({'peer': 'celery', 'wall_seconds': wall, 'ints': sum(map(len, parts)), 'batches': len(parts),
                'versions': bitjob.versions(celery=celery.__version__)})
    bitjob.finish()


if __name__ == '__main__':
    produce(*sys.argv[1:])
