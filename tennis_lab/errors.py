"""The one base class of every error tennis-lab raises on purpose.

Each module keeps its own error type (``GridError``, ``DataFormatError``,
``TrainingError``, ...), and each of them derives from :class:`TennisLabError`, so
the command line catches one class and prints one line. The fields say what a
program may want to read without parsing the message:

- ``key``: the parameter, column or setting at fault (``None`` when none applies);
- ``value``: the value it had (:data:`UNSET` when none applies);
- ``fix``: what to change, in words (``None`` when the message already says it);
- ``path``: the file or folder at fault (``None`` when none applies);
- ``exit_status``: the command's exit status for it: 2 means fix the input and run
  again, 1 means work started and could not go on.

This module imports nothing of the package: every other module may import it.
"""

from __future__ import annotations

from typing import Any


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""The ``value`` of an error that is not about one value."""


class TennisLabError(Exception):
    """An error with a message for a person and structured fields for a program.

    Parameters
    ----------
    message : str
        What is wrong, naming the file, key or value.
    key, value, fix, path
        As the module docstring says; ``fix`` is appended to the message as
        ``" Fix: ..."`` when given.
    """

    exit_status = 2

    def __init__(
        self,
        message: str = "",
        *,
        key: str | None = None,
        value: Any = UNSET,
        fix: str | None = None,
        path: str | None = None,
    ):
        self.problem = message
        self.key, self.value, self.fix = key, value, fix
        self.path = None if path is None else str(path)
        text = f"{message} Fix: {fix}" if fix else message
        super().__init__(text)

    @property
    def message(self) -> str:
        """The whole one-line message, as printed after ``error:``."""
        return str(self)
