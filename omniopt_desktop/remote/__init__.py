"""SSH/SFTP: sessions, host keys, auth, transfers, the SSH CommandRunner (the only paramiko user)."""
