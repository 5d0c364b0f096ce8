"""Is a Kafka broker answering? One real Metadata request, standard library only.

kafka.sh polls this while a broker starts: a broker is ready when it answers a Metadata
request listing at least the expected number of live brokers (a cluster is ready when every
node has registered). Only the standard library is used so the check works before any
virtualenv exists.

Exit status: 0 ready, 1 not (yet) ready. Usage: kafka_ready.py HOST:PORT [--brokers N]
"""

import argparse
import socket
import struct
import sys

METADATA_API_KEY = 3
METADATA_VERSION = 1  # non-flexible; supported by every Kafka 4.x broker (0-13)
CLIENT_ID = b"repayment-stream-ready"


def metadata_request(correlation_id: int) -> bytes:
    """A Metadata v1 request for no topics: the broker list and controller only."""
    header = struct.pack(
        ">hhih", METADATA_API_KEY, METADATA_VERSION, correlation_id, len(CLIENT_ID)
    )
    body = struct.pack(">i", 0)  # empty topic array: no topic metadata, no auto-creation
    payload = header + CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


def read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.extend(chunk)
    return bytes(chunks)


def live_brokers(host: str, port: int, timeout: float) -> int:
    """How many brokers the broker at host:port reports in its metadata."""
    correlation_id = 7
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(metadata_request(correlation_id))
        (size,) = struct.unpack(">i", read_exactly(sock, 4))
        response = read_exactly(sock, size)
    answered_id, broker_count = struct.unpack(">ii", response[:8])
    if answered_id != correlation_id:
        raise ConnectionError(f"unexpected correlation id {answered_id}")
    return int(broker_count)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap", help="HOST:PORT of one broker")
    parser.add_argument("--brokers", type=int, default=1, help="live brokers required")
    parser.add_argument("--timeout", type=float, default=2.0, help="socket timeout, seconds")
    args = parser.parse_args(argv)
    host, _, port = args.bootstrap.rpartition(":")
    try:
        count = live_brokers(host or "127.0.0.1", int(port), args.timeout)
    except (OSError, struct.error, ValueError):
        return 1
    return 0 if count >= args.brokers else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
