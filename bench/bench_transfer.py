"""SFTP rate of the app's transfers relative to OpenSSH's ``sftp`` client, over loopback.

Starts its own sshd (tests/support/sshd.py: own host key, free port, test account), makes a
256 MB file of random bytes and, in the same run, alternately
- uploads it with ``Transfer.upload_file`` (temp name, SHA-256 check, posix_rename), with
  ``sftp -b`` ``put``, and with ``Transfer.upload_file`` without the SHA-256 check;
- downloads it with ``Transfer.download_file`` (``.part`` + os.replace) and with ``sftp`` ``get``.
Each is repeated ``--rounds`` times; the median rates and the ratios app/OpenSSH are printed
(target >= 0.7). Both sides use their default ciphers (the app: aes128-gcm; OpenSSH:
chacha20-poly1305). Needs root (to run sshd and create the test account).

    python bench/bench_transfer.py [--size-mb 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from support.sshd import Account, SshdEnv, SshServer, ensure_account, keygen  # noqa: E402

from omniopt_desktop.remote.session import Session  # noqa: E402
from omniopt_desktop.remote.transfer import Transfer  # noqa: E402


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="oo-bench-transfer-"))
    os.chmod(root, 0o755)
    pw = ensure_account()
    (root / "keys").mkdir()
    account = Account(
        pw.pw_name, pw.pw_dir, pw.pw_uid, pw.pw_gid, str(keygen(root / "keys" / "id"))
    )
    server = SshServer(root / "sshd", users=(account.name,))
    server.authorize(account.name, account.public_key)
    remote = root / "remote"
    remote.mkdir()
    os.chown(remote, account.uid, account.gid)
    try:
        server.start()
        env = SshdEnv(root, account, server, server)
        known = env.known_hosts_file()
        local = root / "file.bin"
        block = os.urandom(1 << 20)
        with open(local, "wb") as fh:
            for i in range(args.size_mb):
                fh.write(hashlib.sha256(block + i.to_bytes(4, "big")).digest() * 32768)
        size = local.stat().st_size
        want = sha256(local)
        sftp_cmd = [
            "sftp", "-q", "-b", "-", "-i", account.key_path, "-P", str(server.port),
            "-o", f"UserKnownHostsFile={known}", "-o", "BatchMode=yes",
            f"{account.name}@127.0.0.1",
        ]  # fmt: skip

        def openssh(batch: str) -> float:
            t = time.perf_counter()
            subprocess.run(sftp_cmd, input=batch.encode(), check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t

        rates: dict[str, list[float]] = {
            k: [] for k in ("app_up", "app_up_nohash", "ssh_up", "app_down", "ssh_down")
        }
        mb = size / 1e6
        with Session("oo-target", options=env.session_options()) as s:
            print(
                f"app cipher: {s.transport.remote_cipher}; {args.size_mb} MB, {args.rounds} rounds"
            )
            for r in range(args.rounds):
                t = time.perf_counter()
                Transfer(s).upload_file(str(local), str(remote / "app.bin"))
                rates["app_up"].append(mb / (time.perf_counter() - t))
                rates["ssh_up"].append(mb / openssh(f"put {local} {remote}/ssh.bin\n"))
                t = time.perf_counter()
                Transfer(s, verify_hash=False).upload_file(str(local), str(remote / "app2.bin"))
                rates["app_up_nohash"].append(mb / (time.perf_counter() - t))

                down = root / "down-app.bin"
                t = time.perf_counter()
                Transfer(s).download_file(str(remote / "app.bin"), str(down))
                rates["app_down"].append(mb / (time.perf_counter() - t))
                rates["ssh_down"].append(
                    mb / openssh(f"get {remote}/ssh.bin {root}/down-ssh.bin\n")
                )
                print(
                    f"round {r + 1}: up app {rates['app_up'][-1]:.0f} / sftp "
                    f"{rates['ssh_up'][-1]:.0f} MB/s; down app {rates['app_down'][-1]:.0f} / sftp "
                    f"{rates['ssh_down'][-1]:.0f} MB/s"
                )
                assert sha256(remote / "app.bin") == want and sha256(down) == want
                down.unlink()
                (root / "down-ssh.bin").unlink()
        med = {k: statistics.median(v) for k, v in rates.items()}

        def per_round(app: str, ssh: str) -> float:  # robust to load changing between rounds
            return statistics.median(a / b for a, b in zip(rates[app], rates[ssh]))

        print(
            f"upload:   app {med['app_up']:.0f} MB/s, OpenSSH sftp {med['ssh_up']:.0f} MB/s, "
            f"ratio {med['app_up'] / med['ssh_up']:.2f}, median of per-round ratios "
            f"{per_round('app_up', 'ssh_up'):.2f} (target >= 0.7)"
        )
        print(
            f"upload without the remote SHA-256 check (size only): app "
            f"{med['app_up_nohash']:.0f} MB/s, ratio {med['app_up_nohash'] / med['ssh_up']:.2f}, "
            f"per-round {per_round('app_up_nohash', 'ssh_up'):.2f}"
        )
        print(
            f"download: app {med['app_down']:.0f} MB/s, OpenSSH sftp {med['ssh_down']:.0f} MB/s, "
            f"ratio {med['app_down'] / med['ssh_down']:.2f}, median of per-round ratios "
            f"{per_round('app_down', 'ssh_down'):.2f} (target >= 0.7)"
        )
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
