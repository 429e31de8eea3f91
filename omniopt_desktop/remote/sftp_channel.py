"""An SFTP client whose channel reads are buffered on our side.

paramiko's SFTP client reads each packet as a 4-byte length and then the body, straight from the
channel's ``BufferedPipe``; every small read there shifts the whole pipe buffer (up to the window
size), which makes large downloads quadratic. :class:`BufferedChannel` takes everything the pipe
holds in one read and serves the small reads from a local buffer. Everything else is the channel.
"""

from __future__ import annotations

import paramiko
from paramiko.channel import Channel

READ_AHEAD = 4 << 20


class BufferedChannel:
    def __init__(self, channel: Channel) -> None:
        self._chan = channel
        self._buf = bytearray()
        self._pos = 0

    def __getattr__(self, name: str):
        return getattr(self._chan, name)

    def recv(self, nbytes: int) -> bytes:
        if self._pos >= len(self._buf):
            data = self._chan.recv(max(nbytes, READ_AHEAD))
            if not data:
                return data
            self._buf = bytearray(data)
            self._pos = 0
        end = min(self._pos + nbytes, len(self._buf))
        out = bytes(self._buf[self._pos : end])
        self._pos = end
        return out

    def recv_ready(self) -> bool:
        return self._pos < len(self._buf) or self._chan.recv_ready()


def open_sftp(
    transport: paramiko.Transport, window_size: int, max_packet_size: int
) -> paramiko.SFTPClient | None:
    chan = transport.open_session(window_size=window_size, max_packet_size=max_packet_size)
    if chan is None:
        return None
    chan.invoke_subsystem("sftp")
    return paramiko.SFTPClient(BufferedChannel(chan))
