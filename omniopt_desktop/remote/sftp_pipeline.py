"""Pipelined SFTP reads and writes with a bounded number of requests in flight.

paramiko's own prefetch polls with 10 ms sleeps once its request limit is reached (and has no
limit by default, which hangs some servers); its pipelined writes keep up to everything in
flight. Here a window of requests (2 MiB by default) is kept full: a new request is sent as
soon as the oldest answer has been handled, with no sleeping and no unbounded queue. Request
sizes follow the server's ``limits@openssh.com`` answer (at most 256 KiB), else 32 KiB.
Uses the SFTP client's request/response primitives (``_async_request``/``_read_response``,
stable since paramiko 1.x) with an object that receives the answers.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable

import paramiko
from paramiko.sftp import (
    CMD_DATA,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_READ,
    CMD_STATUS,
    CMD_WRITE,
    SFTP_EOF,
    int64,
)

BLOCK = 32768  # what every SFTP server must accept (draft-ietf-secsh-filexfer: 32 KiB)
MAX_BLOCK = 256 * 1024
IN_FLIGHT = 2 * 1024 * 1024  # bytes requested but not yet answered


def block_sizes(sftp: paramiko.SFTPClient) -> tuple[int, int]:
    """(read, write) request sizes: the server's ``limits@openssh.com`` answer, capped at 256 KiB,
    else 32 KiB. Asked once per SFTP client."""
    cached = getattr(sftp, "_oo_block_sizes", None)
    if cached:
        return cached
    sizes = (BLOCK, BLOCK)
    try:
        t, msg = sftp._request(CMD_EXTENDED, "limits@openssh.com")
        if t == CMD_EXTENDED_REPLY:
            msg.get_int64()  # max packet length
            max_read, max_write = msg.get_int64(), msg.get_int64()
            # leave room for the request/answer headers inside the server's packet limit
            sizes = (
                min(max(max_read, BLOCK), MAX_BLOCK) if max_read else BLOCK,
                min(max(max_write, BLOCK), MAX_BLOCK - 1024) if max_write else BLOCK,
            )
    except (OSError, paramiko.SSHException):
        pass
    sftp._oo_block_sizes = sizes  # type: ignore[attr-defined]
    return sizes


class _Answers:
    """Receives asynchronous SFTP answers (paramiko calls ``_async_response``)."""

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self.sftp = sftp
        self.got: dict[int, bytes | None] = {}  # None: EOF / write acknowledged
        self.error: BaseException | None = None

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        if t == CMD_DATA:
            self.got[num] = msg.get_string()
            return
        if t == CMD_STATUS:
            pos = msg.packet.tell()
            code = msg.get_int()
            if code == SFTP_EOF or code == 0:
                self.got[num] = None
                return
            msg.packet.seek(pos)
            try:
                self.sftp._convert_status(msg)
            except BaseException as e:
                self.error = e
            self.got[num] = None
            return
        self.error = OSError(f"unexpected SFTP answer type {t}")
        self.got[num] = None

    def wait(self, num: int) -> bytes | None:
        while num not in self.got:
            self.sftp._read_response()
        if self.error is not None:
            raise self.error
        return self.got.pop(num)


def pipelined_read(
    sftp: paramiko.SFTPClient,
    handle: bytes,
    size: int,
    fd: int,
    depth: int | None,
    on_bytes: Callable[[int], None],
) -> int:
    """Read ``size`` bytes of an open remote file into local ``fd`` (positional writes).

    ``depth`` requests in flight (None: as many as fit in :data:`IN_FLIGHT` bytes)."""
    block = block_sizes(sftp)[0]
    depth = depth or max(4, IN_FLIGHT // block)
    answers = _Answers(sftp)
    todo: deque[tuple[int, int]] = deque(
        (off, min(block, size - off)) for off in range(0, size, block)
    )
    inflight: deque[tuple[int, int, int]] = deque()
    total = 0
    try:
        while todo or inflight:
            while todo and len(inflight) < depth:
                off, length = todo.popleft()
                num = sftp._async_request(answers, CMD_READ, handle, int64(off), length)
                inflight.append((num, off, length))
            num, off, length = inflight.popleft()
            data = answers.wait(num)
            if not data:
                raise EOFError(f"file ended at byte {off} of {size}")
            os.pwrite(fd, data, off)
            total += len(data)
            if len(data) < length:  # short read: ask for the rest next
                todo.appendleft((off + len(data), length - len(data)))
            on_bytes(len(data))
    finally:
        for num, _, _ in inflight:  # drain answers of an aborted transfer
            try:
                answers.wait(num)
            except Exception:
                break
    return total


def pipelined_write(
    sftp: paramiko.SFTPClient,
    handle: bytes,
    blocks,
    depth: int | None,
) -> int:
    """Write an iterable of byte chunks at consecutive offsets with ``depth`` requests in flight
    (None: as many as fit in :data:`IN_FLIGHT` bytes)."""
    block = block_sizes(sftp)[1]
    depth = depth or max(4, IN_FLIGHT // block)
    answers = _Answers(sftp)
    inflight: deque[int] = deque()
    off = 0
    try:
        for chunk in blocks:
            view = memoryview(chunk)
            for i in range(0, len(view), block):
                part = bytes(view[i : i + block])
                if len(inflight) >= depth:
                    answers.wait(inflight.popleft())
                inflight.append(sftp._async_request(answers, CMD_WRITE, handle, int64(off), part))
                off += len(part)
        while inflight:
            answers.wait(inflight.popleft())
    finally:
        while inflight:
            try:
                answers.wait(inflight.popleft())
            except Exception:
                break
    return off
