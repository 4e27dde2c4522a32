"""The client side of the benchmarks served on 127.0.0.1: free ports and raw HTTP/1.1 exchanges.

The load generators speak HTTP/1.1 by hand over keep-alive connections, so the client costs as
little as possible per request and the server is what gets measured.
"""

from __future__ import annotations

import asyncio
import socket

__all__ = ["exchange", "free_port"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a keep-alive connection, read the whole response, return its status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return int(head[9:12])
