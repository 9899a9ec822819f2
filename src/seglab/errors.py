"""Errors that seglab raises on purpose.

Users see these instead of tracebacks from deep inside pandas or torch: each names the file,
the column and example rows at fault, so the fix is obvious from the message alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from types import ModuleType


class SeglabError(Exception):
    """Base class for every error seglab raises deliberately (exit code 2 from train.py)."""


class ConfigError(SeglabError):
    """A configuration value is invalid or inconsistent."""


def require_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional package, or raise a `SeglabError` naming the seglab extra that installs it
    (``purpose`` says what needs it: ``"model=n2d"``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SeglabError(f'{purpose} needs the optional package {module!r}: pip install "seglab[{extra}]"') from None


class DataValidationError(SeglabError):
    """Input data breaks a rule checked at the data-source boundary.

    Args:
        message: what is wrong, in plain words.
        file: the file that was read (or a description such as "<in-memory DataFrame>").
        column: the column at fault, if any.
        rows: example row numbers (0-based positions in the file's data rows) at fault.
        examples: example offending values, shown beside the rows.
        hint: what would handle the case, usually the option to set
            (``"data.returns=net or data.returns=drop"``), shown last.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        rows: Iterable[int] | None = None,
        examples: Sequence[object] | None = None,
        max_shown: int = 5,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.hint = hint
        self.column = column
        self.rows = list(rows)[:max_shown] if rows is not None else []
        self.examples = list(examples)[:max_shown] if examples is not None else []
        parts = [message]
        if file is not None:
            parts.append(f"file: {file}")
        if column is not None:
            parts.append(f"column: {column!r}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            parts.append(f"rows (0-based, first {len(self.rows)}): {shown}")
        if self.examples:
            parts.append("values: " + ", ".join(repr(v) for v in self.examples))
        if hint:
            parts.append(f"to go on: {hint}")
        super().__init__(" | ".join(parts))


class RunDirError(SeglabError):
    """A run dir that already holds another run, or a ``resume=`` target that cannot be resumed."""


class TrainingDiverged(SeglabError):
    """A training loss became NaN or infinite: the run stops rather than cluster a broken model."""


class ClusteringCollapsed(SeglabError):
    """Every customer landed in one segment: no segmentation to report."""
