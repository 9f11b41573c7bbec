"""A loopback TCP relay that delays each direction by a set amount: network latency for the
fleet tests and benchmarks (``tc netem`` is not available on these machines).

Bytes are forwarded as they arrive, each chunk held back until ``delay`` seconds after it was
read, so the relay adds latency without limiting throughput: a request and its answer take
``2 * delay`` longer, as over a link with that round-trip time. ``delay`` may be changed while
the relay runs (a benchmark measures one fleet at several latencies); it applies to the bytes
read after the change. It runs its own asyncio loop in
a thread, so callers (pytest, the benchmarks) stay synchronous::

    with LatencyRelay(target_port=sshd_port, delay=0.025) as relay:
        ...  # connect to 127.0.0.1:relay.port: a 50 ms round trip to sshd
"""

from __future__ import annotations

import asyncio
import threading


class LatencyRelay:
    """Listens on 127.0.0.1 (``port`` once started) and forwards to 127.0.0.1:``target_port``."""

    def __init__(self, target_port: int, delay: float):
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}")
        self.target_port = target_port
        self.delay = delay
        self.port: int | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name=f"latency-relay-{target_port}")
        self._server: asyncio.base_events.Server | None = None

    def __enter__(self) -> "LatencyRelay":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "LatencyRelay":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Close the listener and every relayed connection, then end the loop's thread."""
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _relay(self, client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(self._direction(client_reader, upstream_writer),
                                 self._direction(upstream_reader, client_writer))
        except asyncio.CancelledError:
            pass  # stop(): Python 3.11's start_server would log a cancelled handler as an error
        finally:
            for writer in (client_writer, upstream_writer):
                writer.close()

    async def _direction(self, reader, writer) -> None:
        """Forward one direction, each chunk ``delay`` after it arrived; end of stream likewise."""
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def read() -> None:
            while True:
                try:
                    chunk = await reader.read(65536)
                except OSError:
                    chunk = b""
                queue.put_nowait((loop.time() + self.delay, chunk))
                if not chunk:
                    return

        async def write() -> None:
            while True:
                due, chunk = await queue.get()
                await asyncio.sleep(due - loop.time())
                if not chunk:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(chunk)
                await writer.drain()

        reading = asyncio.ensure_future(read())
        try:
            await write()
        except OSError:
            # Closing the transport also ends the other direction, which reads from it.
            writer.close()
        finally:
            reading.cancel()
