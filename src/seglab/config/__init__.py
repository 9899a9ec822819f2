"""Config values checked before any data is read (`check_config`), in the vocabulary of
`seglab.config.constraints` (scikit-learn's parameter constraints)."""

from seglab.config.check import check_config

__all__ = ["check_config"]
