"""SFTP transfers against a real sshd: atomic upload/download, incremental folders, cancel."""

from __future__ import annotations

import os
import stat

import pytest

from omniopt_desktop.remote.session import Session
from omniopt_desktop.remote.transfer import CancelToken, Transfer, TransferCancelled

pytestmark = pytest.mark.sshd


@pytest.fixture(scope="module")
def session(sshd_env):
    with Session("oo-target", options=sshd_env.session_options()) as s:
        yield s


def test_upload_and_download_round_trip_with_progress(session, tmp_path, remote_dir):
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    os.chmod(src, 0o750)
    seen = []
    t = Transfer(session, seen.append, progress_interval=0)
    assert t.upload_file(str(src), f"{remote_dir}/f.bin") == len(data)
    assert open(f"{remote_dir}/f.bin", "rb").read() == data
    assert stat.S_IMODE(os.stat(f"{remote_dir}/f.bin").st_mode) == 0o750
    assert int(os.stat(f"{remote_dir}/f.bin").st_mtime) == int(src.stat().st_mtime)
    assert seen[-1].bytes_done == seen[-1].bytes_total == len(data) and seen[-1].rate > 0
    assert [p.bytes_done for p in seen] == sorted(p.bytes_done for p in seen)
    assert os.listdir(remote_dir) == ["f.bin"]  # no temporary file left

    dest = tmp_path / "out" / "f.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")
    old = os.umask(0)
    try:
        assert Transfer(session).download_file(f"{remote_dir}/f.bin", str(dest)) == len(data)
    finally:
        os.umask(old)
    assert dest.read_bytes() == data
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert sorted(os.listdir(dest.parent)) == ["f.bin"]


def test_cancelled_upload_and_download_replace_nothing(session, tmp_path, remote_dir):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(8 * 1024 * 1024))
    target = f"{remote_dir}/big.bin"
    with open(target, "wb") as fh:
        fh.write(b"keep me")
    token = CancelToken()

    def cancel_soon(p):
        if p.bytes_done >= 2 * 1024 * 1024:
            token.cancel()

    with pytest.raises(TransferCancelled):
        Transfer(session, cancel_soon, token, progress_interval=0).upload_file(str(src), target)
    assert open(target, "rb").read() == b"keep me"
    assert os.listdir(remote_dir) == ["big.bin"]  # the temporary file was removed

    Transfer(session).upload_file(str(src), target)
    dest = tmp_path / "down.bin"
    dest.write_bytes(b"local keep")
    token = CancelToken()
    with pytest.raises(TransferCancelled):
        Transfer(session, cancel_soon, token, progress_interval=0).download_file(target, str(dest))
    assert dest.read_bytes() == b"local keep"
    assert not (tmp_path / "down.bin.part").exists()
    # the session is still usable after a cancel
    assert session.runner().run("echo ok").stdout == "ok\n"


def test_incremental_folder_upload(session, tmp_path, remote_dir):
    root = tmp_path / "study"
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b" * 1000)
    (root / "sub" / "deep" / "c.py").write_text("print(1)\n")
    (root / "skip.pyc").write_text("x")
    dest = f"{remote_dir}/run/study"
    t = Transfer(session)
    first = t.upload_tree(str(root), dest, exclude=("*.pyc",))
    assert sorted(first.uploaded) == ["a.txt", "sub/b.txt", "sub/deep/c.py"]
    assert first.skipped == ()
    assert open(f"{dest}/sub/deep/c.py").read() == "print(1)\n"
    assert not os.path.exists(f"{dest}/skip.pyc")

    stale = f"{dest}/sub/.b.txt.oo-part-0123abcd"  # left by an upload that broke
    open(stale, "w").close()
    second = t.upload_tree(str(root), dest, exclude=("*.pyc",))
    assert second.uploaded == () and len(second.skipped) == 3
    assert not os.path.exists(stale)

    (root / "sub" / "b.txt").write_text("B" * 1000)  # same size, new mtime
    os.utime(root / "sub" / "b.txt", (1_000_000_000, 1_000_000_000))
    (root / "new.txt").write_text("n")
    third = t.upload_tree(str(root), dest, exclude=("*.pyc",))
    assert sorted(third.uploaded) == ["new.txt", "sub/b.txt"]
    assert open(f"{dest}/sub/b.txt").read() == "B" * 1000

    # by hash: a touched but identical file is skipped, a changed one is sent
    os.utime(root / "a.txt", (2_000_000_000, 2_000_000_000))
    by_hash = t.upload_tree(str(root), dest, compare="hash", exclude=("*.pyc",))
    assert by_hash.uploaded == ()
    (root / "a.txt").write_text("z")
    assert t.upload_tree(str(root), dest, compare="hash", exclude=("*.pyc",)).uploaded == ("a.txt",)


def test_transfers_from_several_threads_share_the_session(session, tmp_path, remote_dir):
    import threading

    blobs = {i: os.urandom(1024 * 1024 + i) for i in range(4)}
    for i, b in blobs.items():
        (tmp_path / f"u{i}").write_bytes(b)
    errors = []

    def work(i):
        try:
            t = Transfer(session)
            t.upload_file(str(tmp_path / f"u{i}"), f"{remote_dir}/f{i}")
            t.download_file(f"{remote_dir}/f{i}", str(tmp_path / f"d{i}"))
            assert session.runner().run(f"wc -c < {remote_dir}/f{i}").stdout.strip() == str(
                len(blobs[i])
            )
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in blobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert all((tmp_path / f"d{i}").read_bytes() == b for i, b in blobs.items())


def test_block_sizes_follow_the_server_limits(session):
    from omniopt_desktop.remote.sftp_pipeline import BLOCK, block_sizes

    read, write = block_sizes(session.sftp())  # OpenSSH answers limits@openssh.com
    assert BLOCK < read <= 256 * 1024 and BLOCK < write <= 256 * 1024

    class NoLimits:  # a server without the extension answers with an SFTP error
        def _request(self, *args):
            raise OSError("Operation unsupported")

    assert block_sizes(NoLimits()) == (BLOCK, BLOCK)
