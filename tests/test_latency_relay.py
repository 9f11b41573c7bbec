"""The latency relay delays each direction and forwards every byte, in order, and the end."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.latency_relay import LatencyRelay


@pytest.fixture
def echo_port():
    """A loopback TCP server that echoes each connection until the client's end of stream."""
    server = socket.create_server(("127.0.0.1", 0))

    def echo(connection: socket.socket) -> None:
        with connection:
            while chunk := connection.recv(65536):
                connection.sendall(chunk)

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # the listener was closed
                return
            threading.Thread(target=echo, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def round_trip(port: int, payload: bytes) -> tuple[bytes, float]:
    """Send ``payload``, end the stream, read the echo to its end: (echo, seconds)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
        return bytes(received), time.monotonic() - started


def test_a_round_trip_through_the_relay_takes_at_least_twice_the_delay(echo_port):
    with LatencyRelay(echo_port, delay=0.2) as relay:
        echoed, seconds = round_trip(relay.port, b"ping")
    assert echoed == b"ping"
    assert seconds >= 0.4


def test_the_relay_forwards_every_byte_in_order_and_the_end_of_stream(echo_port):
    payload = bytes(range(256)) * 8192  # 2 MiB, many chunks in both directions
    with LatencyRelay(echo_port, delay=0.01) as relay:
        echoed, _ = round_trip(relay.port, payload)
        again, _ = round_trip(relay.port, b"second connection")
    assert echoed == payload
    assert again == b"second connection"


def test_without_delay_the_relay_still_forwards(echo_port):
    with LatencyRelay(echo_port, delay=0) as relay:
        assert round_trip(relay.port, b"no delay")[0] == b"no delay"


def test_a_negative_delay_is_refused():
    with pytest.raises(ValueError, match="delay"):
        LatencyRelay(1, delay=-0.1)


def test_stopping_with_a_connection_open_closes_it(echo_port):
    relay = LatencyRelay(echo_port, delay=0.01).start()
    with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as sock:
        sock.sendall(b"open")
        assert sock.recv(16) == b"open"
        relay.stop()
        assert sock.recv(16) == b""
