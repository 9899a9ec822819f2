"""Every bad value of a composed config, found before any data is read.

Hydra composes the config and rejects unknown groups and keys itself; OmegaConf 2.3 (which
Hydra 1.3 pins) has no ``Literal`` fields, so values are checked here, once, on the composed
config: ``check_config(cfg)`` raises one `ConfigError` whose line lists every bad value as
``<key>=<value>: <what is allowed>``, and ``seglab.train`` calls it before anything else (in a
multirun each job checks its own config).

Why this design: the allowed values live with the code that reads them, so the check follows
that code instead of repeating its parameter lists.

- A node with a ``_target_`` (``data``, ``model``, and any nested one) is checked against its
  class: the class's ``_parameter_constraints`` (scikit-learn's convention; the classical models
  reuse the constraints of the scikit-learn estimators they wrap) and, for the other arguments,
  the types of the constructor's annotations. The object is then built (cheap: constructors load
  nothing), so checks a constructor makes itself run too.
- ``features.build`` and ``features.preprocess`` are checked with the constraints their readers
  declare and apply themselves; ``text`` with its table and `seglab.text.features.resolve_config`
  (the combinations); the other groups with the tables of `seglab.config.groups`.
- A value set by a plain interpolation (``model.n_clusters: ${n_clusters}``) is reported under the
  key the user sets (``n_clusters=0``), once.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seglab.config.constraints import bad_values, constraints_of, show
from seglab.errors import ConfigError

_PLAIN_INTERPOLATION = re.compile(r"^\$\{(\w[\w.]*)\}$")
_HYDRA_KEYS = ("_target_", "_convert_", "_partial_", "_recursive_", "_args_")


class _Findings:
    """Bad values by the key a user would change, the first reason for each kept."""

    def __init__(self, raw: dict) -> None:
        self.raw = raw
        self.lines: dict[str, str] = {}

    def source(self, path: str) -> str:
        """The key whose value ``path`` takes through plain interpolations (itself if none)."""
        seen = set()
        while path not in seen:
            seen.add(path)
            match = _PLAIN_INTERPOLATION.match(str(_select(self.raw, path)))
            if not match:
                return path
            path = match.group(1)
        return path

    def add(self, path: str, value: Any, allowed: str) -> None:
        key = self.source(path)
        note = "" if key == path else f" (as {path})"
        self.lines.setdefault(key, f"{key}={show(value)}: {allowed}{note}")

    def note(self, key: str, message: str) -> None:
        self.lines.setdefault(key, message)

    def check(self, prefix: str, constraints: dict, values: dict) -> int:
        found = bad_values(constraints, {k: v for k, v in values.items() if k not in _HYDRA_KEYS})
        for key, value, allowed in found:
            self.add(f"{prefix}{key}", value, allowed)
        return len(found)


def _select(node: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _check_target(findings: _Findings, prefix: str, values: dict) -> int:
    """Check a ``_target_`` node (and nested ones) against its class; the number of bad values."""
    from hydra.utils import get_class

    try:
        cls = get_class(values["_target_"])
    except Exception as err:  # an import error inside the class's module, or a target that is not a class
        findings.note(f"{prefix}_target_", f"{prefix}_target_={values['_target_']}: {err}")
        return 1
    n_bad = findings.check(prefix, flat_constraints(cls), values)
    for key, value in values.items():
        if isinstance(value, dict) and "_target_" in value:
            n_bad += _check_target(findings, f"{prefix}{key}.", value)
    return n_bad


def flat_constraints(cls: type) -> dict[str, list[Any]]:
    """What each flat config key of ``cls`` may be. A deep model takes its settings as objects
    (``network``, ``pretraining``...) built by ``from_config`` from flat keys: those keys are
    checked against the settings classes' own constraints, not against the object parameter."""
    from seglab.models.settings import config_fields

    found = constraints_of(cls)
    for name, factory in (getattr(cls, "settings_classes", None) or {}).items():
        found.pop(name, None)
        own = constraints_of(factory)
        for key, field_name in config_fields(factory).items():
            if field_name in own:
                found[key] = own[field_name]
    return found


def _build(findings: _Findings, group: str, make: Any) -> Any:
    """``make()`` (the group's object), so the checks its constructor makes run too; None on error."""
    from hydra.errors import InstantiationException

    try:
        return make()
    except InstantiationException as err:
        _note_error(findings, group, err.__cause__ or err)
    except Exception as err:  # a class without kwargs, a TypeError of a constructor...
        _note_error(findings, group, err)
    return None


def _note_error(findings: _Findings, group: str, err: BaseException) -> None:
    message = str(err)
    findings.note(group, message if message.startswith((f"{group}.", f"{group}=")) else f"{group}: {message}")


def _data_source(cfg: DictConfig) -> Any:
    """The data source, built and its own checks made (`seglab.data.base.DataSource.check`)."""
    from hydra.utils import instantiate

    source = instantiate(cfg.data, _convert_="all")
    source.check()
    return source


def _params(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "get_params") and not isinstance(obj, type):
        return obj.get_params(deep=False)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return {}


def _check_built(findings: _Findings, prefix: str, obj: Any, depth: int = 0) -> None:
    """Check a built object's parameters against its class (constraints, annotations), and those
    of the settings objects it holds (a network spec, optimiser settings), reported under the
    config's flat ``<prefix><key>`` (a dataclass field's ``config_key`` metadata, else its name)."""
    params = _params(obj)
    keys = {f.name: f.metadata.get("config_key", f.name) for f in dataclasses.fields(obj)} \
        if dataclasses.is_dataclass(obj) else {}
    for name, value, allowed in bad_values(constraints_of(type(obj)), params):
        findings.add(f"{prefix}{keys.get(name, name)}", value, allowed)
    if depth < 2:
        for value in params.values():
            if _params(value):
                _check_built(findings, prefix, value, depth + 1)


def _check_model(findings: _Findings, cfg: DictConfig, values: dict, raw: dict) -> None:
    """``model``: its flat keys against the class (constraints, annotations); then the model built
    as `seglab.train.build_model` builds it, and the built object against its own constraints."""
    from hydra.utils import get_class

    from seglab.config.groups import trainer_constraints

    model = dict(values["model"])
    if str(model.get("n_clusters")) == "auto":  # train.run picks k before it builds the model
        model["n_clusters"] = (values.get("choose_k") or {}).get("k_min", 2)
    n_bad = _check_target(findings, "model.", model)
    try:
        cls = get_class(model["_target_"])
    except Exception:
        return
    if getattr(cls, "uses_lightning", False) or "${trainer}" in (raw.get("model") or {}).values():
        n_bad += findings.check("trainer.", trainer_constraints(), values.get("trainer") or {})
    if n_bad:
        return
    from seglab.train import build_model

    cfg = cfg.copy()
    OmegaConf.set_struct(cfg, False)
    if "n_clusters" in model:
        cfg.model.n_clusters = model["n_clusters"]
    built = _build(findings, "model", lambda: build_model(cfg, dict(values.get("trainer") or {})))
    if built is None:
        return
    n_found = len(findings.lines)
    _check_built(findings, "model.", built)
    if len(findings.lines) == n_found and hasattr(built, "check_settings"):
        try:  # settings that contradict each other (a preset with widths, cluster_augment without augment)
            built.check_settings()
        except ConfigError as err:
            _note_error(findings, "model", err)


def check_config(cfg: DictConfig) -> None:
    """Raise `ConfigError` naming every bad value of ``cfg`` (see the module docstring)."""
    from seglab.config.groups import root_constraints, text_constraints
    from seglab.features.options import BUILD_CONSTRAINTS
    from seglab.features.preprocess import Preprocessor

    raw = OmegaConf.to_container(cfg, resolve=False)
    values = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    findings = _Findings(raw)

    for prefix, constraints in root_constraints().items():
        node = values if not prefix else _select(values, prefix)
        if isinstance(node, dict):
            findings.check(f"{prefix}." if prefix else "", constraints, node)
    features = values.get("features") or {}
    findings.check("features.build.", BUILD_CONSTRAINTS, features.get("build") or {})
    findings.check("features.preprocess.", constraints_of(Preprocessor), features.get("preprocess") or {})

    text = values.get("text") or {}
    if text and str(text.get("name")).lower() != "none" and not findings.check("text.", text_constraints(), text):
        from seglab.text.features import resolve_config

        try:
            resolve_config(text)
        except ConfigError as err:
            findings.note("text", str(err))

    data = values.get("data")
    if isinstance(data, dict) and "_target_" in data and not _check_target(findings, "data.", data):
        _build(findings, "data", lambda: _data_source(cfg))

    if isinstance(values.get("model"), dict) and "_target_" in values["model"]:
        _check_model(findings, cfg, values, raw)

    choose_k = values.get("choose_k") or {}
    k_min, k_max = choose_k.get("k_min"), choose_k.get("k_max")
    if isinstance(k_min, int) and isinstance(k_max, int) and "choose_k.k_max" not in findings.lines \
            and k_max < k_min:
        findings.note("choose_k.k_max", f"choose_k.k_max={k_max}: an integer >= choose_k.k_min ({k_min})")
    if findings.lines:
        raise ConfigError("; ".join(findings.lines.values()))
