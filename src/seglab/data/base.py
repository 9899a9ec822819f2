"""What every data source is: a small object built from flat config values whose ``load()``
returns a validated ``CustomerData``.

A source is selected with ``data=<name>`` and built by Hydra from ``conf/data/<name>.yaml``
(``_target_`` plus flat keyword arguments); ``name`` is the dataset's short name used in the
tracker's experiment names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from seglab.data.schema import CustomerData


class DataSource(ABC):
    """Base class: subclasses store their arguments in ``__init__`` and implement ``load``."""

    name: str

    @abstractmethod
    def load(self) -> CustomerData:
        """Read (or generate) the data and return it in canonical, validated form."""

    def check(self) -> None:
        """Check the arguments together without reading anything (`seglab.config.check_config`
        calls it before a run reads data); each argument alone is checked against the class's
        ``_parameter_constraints`` and annotations. Sources with rules across arguments override it."""
        return None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def as_list(value: str | Iterable[str] | None) -> list[str]:
    """A config value that may be null, one string or a list (Hydra ``ListConfig``) as a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
