"""One root for every error the user may see.

Messages are one line, name the file/field/line at fault and say what to do. Subclasses carry
data for callers that want more than the text. Runs on Python 3.9+ (shipped with the engine).
"""

from __future__ import annotations


class OmniOptError(Exception):
    """Root of all errors raised on purpose by OmniOpt Desktop."""


class StudyFileError(OmniOptError):
    """A study file cannot be read or is invalid.

    ``issues`` holds every :class:`omniopt_desktop.study.validate.Issue` found (may be empty when
    the file cannot be parsed at all).
    """

    def __init__(self, message: str, issues: list | None = None) -> None:
        super().__init__(message)
        self.issues = list(issues or [])


class ExpressionError(OmniOptError):
    """A `when` condition or constraint is not in the allowed expression language."""


class TemplateError(OmniOptError):
    """A command template cannot be filled."""


class StorageError(OmniOptError):
    """A study storage cannot be opened or used."""


class ProgramError(OmniOptError):
    """The user's program could not be started."""


class CommandError(OmniOptError):
    """A command (local or remote) failed; carries the typed result when there is one."""

    def __init__(self, message: str, result: object | None = None) -> None:
        super().__init__(message)
        self.result = result


class CommandTimedOut(CommandError):
    """A command did not finish within its wall-clock timeout."""


class RemoteError(OmniOptError):
    """SSH/SFTP trouble: connection, authentication, host key, transfer."""


class HostKeyError(RemoteError):
    """A host key is unknown (and not accepted), changed or revoked."""


class AuthenticationError(RemoteError):
    """Authentication failed; the message never contains a secret."""


class ClusterError(OmniOptError):
    """SLURM trouble: an unparsable answer, a failed submission."""


class AnalysisError(OmniOptError):
    """A result database cannot be read (corrupt, not an Optuna study, unknown schema)."""
