"""SSH/SFTP: sessions, host keys, auth, transfers, the SSH CommandRunner (the only paramiko user).

- :mod:`.session` — ``Session(host, callbacks, options)``: one transport per host (ProxyJump hops,
  strict host keys, auth, liveness, explicit reconnect, :class:`.state.ConnectionState`).
- :mod:`.callbacks` — the Qt-free ``AuthCallbacks`` protocol the CLI (:mod:`.terminal_prompts`)
  and the GUI implement; :class:`.callbacks.NoPrompts` for scripts.
- :mod:`.ssh_runner` — the ``CommandRunner`` over SSH (``session.runner()``).
- :mod:`.transfer` — atomic, incremental, cancellable uploads and downloads with progress.
- :mod:`.check` — what ``ssh-check`` reports; :mod:`.secrets` — keyring access.
- :mod:`.ssh_config`, :mod:`.known_hosts` — OpenSSH's files, read as OpenSSH does.

Importing this package imports nothing else (paramiko is loaded by the modules that need it).
"""
