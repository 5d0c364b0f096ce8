"""The least a Faust worker does per event, run as ``python -m bench.floor_app worker``.

One agent on the pre-filled input topics: ``orjson.loads`` each value and produce one small
record through the app's producer (what ``baseline`` does with bare aiokafka). It writes
``{"events", "seconds", "cpu_seconds"}``, from the first record to the last, to the file
``FLOOR_RESULT`` (Faust captures stdout into its log) and exits. ``FLOOR_FAST=1`` uses
``streams.consumer.App`` (the worker's consumer) instead of ``faust.App``. Configured by
``FLOOR_BOOTSTRAP``, ``FLOOR_NAMESPACE``, ``FLOOR_EVENTS``, ``FLOOR_GROUP``.
"""

from __future__ import annotations

import os
import time

import faust
import orjson
from faust.types import StreamT

from bench.kafka import input_topics
from streams.consumer import App as FastApp

EVENTS = int(os.environ.get("FLOOR_EVENTS", "0"))
NAMESPACE = os.environ.get("FLOOR_NAMESPACE", "bench")
app_class = FastApp if os.environ.get("FLOOR_FAST") == "1" else faust.App
app = app_class(
    os.environ.get("FLOOR_GROUP", "bench-floor"),
    env={},
    broker=f"kafka://{os.environ.get('FLOOR_BOOTSTRAP', 'localhost:9092')}",
    store="memory://",
    web_enabled=False,
    topic_disable_leader=True,
    consumer_auto_offset_reset="earliest",
    producer_linger=0.005,
    autodiscover=False,
)
inputs = app.topic(
    *input_topics(NAMESPACE), key_type=bytes, value_type=bytes, value_serializer="raw"
)
sink = f"{NAMESPACE}.floor-out"


class _Clock:
    count = 0
    wall = cpu = 0.0


@app.agent(inputs)
async def floor(stream: StreamT) -> None:
    send = app.producer.send
    async for event in stream.events():
        if _Clock.count == 0:
            _Clock.wall, _Clock.cpu = time.perf_counter(), time.process_time()
        doc = orjson.loads(event.value)
        out = orjson.dumps({"caused_by": doc["event_id"], "customer_id": doc["customer_id"]})
        await send(sink, event.key, out, None, None, None)
        _Clock.count += 1
        if _Clock.count == EVENTS:
            await app.producer.flush()
            result = {
                "events": _Clock.count,
                "seconds": time.perf_counter() - _Clock.wall,
                "cpu_seconds": time.process_time() - _Clock.cpu,
            }
            with open(os.environ["FLOOR_RESULT"], "wb") as out:
                out.write(orjson.dumps(result))
            os._exit(0)


if __name__ == "__main__":
    app.main()
