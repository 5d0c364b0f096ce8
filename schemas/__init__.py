"""The contract's records, their strict decoding, their JSON encoding and JSON Schemas.

Pure: no Kafka, no asyncio, no clock, no environment. ``events`` and ``outputs`` hold the
records, ``decode`` turns input bytes into records (or ``InvalidEvent``), ``encode`` turns
decisions and dead letters into bytes, ``export`` generates ``json/*.schema.json``.
"""
