"""Before a run: does the program the command starts exist on this machine?

A study can be valid and still fail every trial: ``python3 train.py`` with no ``train.py`` in
the workdir, a typo in the program's name, a script without its execute bit. These are
warnings, not errors: the program may exist only on the cluster (an absolute path there, a
``module load``), so a run is never refused for them; the user just hears it before the first
20 trials fail. Only the first simple command of the template is looked at; words holding a
placeholder are never judged.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from typing import List, Optional

from .model import Study
from .run_layout import program_workdir
from .template import PLACEHOLDER

# a script follows these as its first argument that is not an option
INTERPRETERS = re.compile(
    r"(python[0-9.]*|pypy[0-9.]*|Rscript|bash|sh|dash|zsh|ksh|perl|ruby|julia|node|octave|lua"
    r"|php|tclsh)$"
)
# options of an interpreter that take the next word (python -W ignore, -X dev; bash -o x)
_OPTION_WITH_VALUE = {"-W", "-X", "-o", "-O", "--project", "-e", "-E"}
# options after which there is no script file (python -m module, -c code; Rscript -e expr)
_NO_SCRIPT = {"-m", "-c", "-e", "--eval", "-E"}
# shell words that are no program to look for
_BUILTINS = set(
    ". : [ builtin cd command echo eval exit export false printf read set source test true "
    "ulimit umask unset".split()
)
# commands that start the next word as the program (their own options are skipped)
_WRAPPERS = {"env", "exec", "nice", "nohup", "time", "stdbuf"}
_MARK = "\x00placeholder\x00"


def _first_command(template: str) -> List[str]:
    """The words of the template's first simple command, placeholders marked."""
    text = PLACEHOLDER.sub(_MARK, template)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    words: List[str] = []
    try:
        for word in lexer:
            if word and set(word) <= set(";&|()<>"):
                break
            words.append(word)
    except ValueError:  # unbalanced quotes: validation reports the template itself
        return []
    while words and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0]):  # FOO=1 prog
        words.pop(0)
    while words and os.path.basename(words[0]) in _WRAPPERS:
        words.pop(0)
        while words and (words[0].startswith("-") or "=" in words[0]):
            option = words.pop(0)
            if option.startswith("-") and words and re.fullmatch(r"-?[0-9.]+[a-z]*", words[0]):
                words.pop(0)  # its value: nice -n 5, timeout -k 10s
    return words


def _script_of(words: List[str]) -> Optional[str]:
    """The script an interpreter is given, or None (``-m``, ``-c``, no argument)."""
    i = 1
    while i < len(words):
        word = words[i]
        if word in _NO_SCRIPT:
            return None
        if word in _OPTION_WITH_VALUE:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word
    return None


def program_warnings(study: Study, study_dir: str) -> List[str]:
    """One line per problem found with the program the command starts (empty: looks fine)."""
    workdir = program_workdir(study, study_dir)
    if not os.path.isdir(workdir):
        return [
            f"program.workdir: {workdir} does not exist on this machine; create it or fix "
            "program.workdir (it is relative to the study file)"
        ]
    words = _first_command(study.program.command or "")
    if not words or _MARK in words[0] or words[0] in _BUILTINS:
        return []
    program = words[0]
    where = "program.command"
    if "/" in program:
        path = os.path.join(workdir, os.path.expanduser(program))
        if not os.path.exists(path):
            return [f"{where}: {program} does not exist in {workdir}; every trial would fail"]
        if os.path.isfile(path) and not os.access(path, os.X_OK):
            return [f"{where}: {program} is not executable; run: chmod +x {path}"]
        return _crlf(where, program, path, shell=False)
    if shutil.which(program) is None:
        return [
            f"{where}: '{program}' is not a program on this machine's PATH; check its "
            "spelling, or load it in the cluster profile's setup lines for cluster runs"
        ]
    if not INTERPRETERS.match(program):
        return []
    script = _script_of(words)
    if script is None or _MARK in script:
        return []
    path = os.path.join(workdir, os.path.expanduser(script))
    if not os.path.exists(path):
        return [
            f"{where}: {program}'s script {script} does not exist in {workdir}; every trial "
            "would fail: create it, or fix the command or program.workdir"
        ]
    return _crlf(where, script, path, shell=os.path.basename(program) in _SHELLS)


_SHELLS = ("sh", "bash", "dash", "zsh", "ksh")


def _crlf(where: str, shown: str, path: str, shell: bool) -> List[str]:
    """A script saved with Windows line endings: its '#!' line (then 'not found') or, run by a
    shell, every line breaks (Python, R, ... read CRLF files fine)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return []
    first = head.split(b"\n", 1)[0]
    bad = b"\r\n" in head if shell else first.startswith(b"#!") and first.endswith(b"\r")
    if not bad or b"\0" in head:  # binaries are not scripts
        return []
    return [
        f"{where}: {shown} has Windows line endings (CRLF), which make every trial fail; "
        f"convert it: sed -i 's/\\r$//' {os.path.normpath(path)}"
    ]
