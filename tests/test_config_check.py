"""Every bad config value is reported before any data is read: one `seglab error:` line naming
the key, the value and what is allowed, exit code 2, and no run dir, metrics or tracker run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from seglab.config import check_config
from seglab.config.constraints import Choice, Integral, Interval, ListOf, describe, problems, show
from seglab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

# (overrides, the exact message): the kinds of issue 12, one per group
BAD = [
    (["n_clusters=0"], "n_clusters=0: an integer >= 2 or auto"),
    (["features.preprocess.scaler=foo"], "features.preprocess.scaler=foo: one of standard, minmax, none"),
    (["features.build.top_categories=-1"], "features.build.top_categories=-1: an integer >= 0"),
    (["features.engine=polars"], "features.engine=polars: one of auto, pandas, duckdb, spark"),
    (["text.backend=bar"], "text.backend=bar: one of auto, torch, ctranslate2"),
    (["text.neutral_band=1.5"], "text.neutral_band=1.5: a number in [0, 1)"),
    (["data.n_customers=-1"], "data.n_customers=-1: an integer >= 1"),
    (["data.start_date=soon"], "data.start_date=soon: a date (YYYY-MM-DD)"),
    (["data=transactions", "data.path=x.csv", "data.returns=keep"], "data.returns=keep: one of error, drop, net"),
    (["choose_k.rule=best"],
     "choose_k.rule=best: one of elbow, silhouette, calinski_harabasz, davies_bouldin, gap, bic, majority"),
    (["choose_k.k_min=5", "choose_k.k_max=3"], "choose_k.k_max=3: an integer >= choose_k.k_min (5)"),
    (["eval.small_cluster_share=2"], "eval.small_cluster_share=2: a number in [0, 1)"),
    (["stability.seeds=[1,x]"], "stability.seeds=[1, x]: a list of integers in [0, 4294967295]"),
    (["predict=on", "predict.calibration_end=2024-13-01"],
     "predict.calibration_end=2024-13-01: a date (YYYY-MM-DD) or null"),
    (["privacy.upload_segments=maybe"], "privacy.upload_segments=maybe: true or false"),
    (["trainer.accelerator=quantum"], "trainer.accelerator=quantum: one of auto, gpu, cpu, cuda, mps, tpu"),
    (["logger.csv=2"], "logger.csv=2: true or false"),
    (["seed=-1"], "seed=-1: an integer in [0, 4294967295]"),
    # a value the user sets once and several groups read is reported once, under its own key
    (["n_clusters=auto"], "n_clusters=auto: an integer >= 1 (as data.n_segments)"),
    # every bad value at once, in one line
    (["n_clusters=0", "text.backend=bar", "features.preprocess.scaler=foo"],
     "n_clusters=0: an integer >= 2 or auto; features.preprocess.scaler=foo: one of standard, minmax, none; "
     "text.backend=bar: one of auto, torch, ctranslate2"),
    # combinations the reading code checks itself, still before any data
    (["data=transactions"], "data.path is required for the transactions source (data.path=/path/to/file.csv)"),
    (["text=hf_classifier"], "text=hf_classifier needs text.model=<Hugging Face id or local folder>"),
]


@pytest.fixture(scope="module", autouse=True)
def hydra_conf():
    """Hydra initialised once for the module (each initialisation costs a fraction of a second)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


def compose_cfg(tmp_path: Path, overrides: list[str]):
    return compose("config", overrides=[*overrides, f"log_dir={tmp_path}"])


@pytest.mark.parametrize("overrides,message", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_values_are_named_with_what_is_allowed(overrides, message, tmp_path):
    with pytest.raises(ConfigError) as err:
        check_config(compose_cfg(tmp_path, overrides))
    assert str(err.value) == message
    assert not any(tmp_path.iterdir())  # nothing written


CONFIG_FILES = [(g, p.stem) for g in ("data", "model", "text", "features", "trainer", "logger", "predict")
                for p in sorted((CONF / g).glob("*.yaml"))]
NEEDS = {"data": ["data.path=x"], "text=hf_classifier": ["text.model=some/model"]}  # required values


@pytest.mark.parametrize("group,option", CONFIG_FILES, ids=[f"{g}={o}" for g, o in CONFIG_FILES])
def test_every_shipped_config_passes(group, option, tmp_path):
    cfg = compose_cfg(tmp_path, [f"{group}={option}"])
    extra = NEEDS.get(f"{group}={option}", [])
    if group == "data" and cfg.data.get("path", "") is None:
        extra = NEEDS["data"]
    check_config(compose_cfg(tmp_path, [f"{group}={option}", *extra]))


@pytest.mark.parametrize("path", sorted((CONF / "experiment").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_experiment_passes(path, tmp_path):
    check_config(compose_cfg(tmp_path, [f"+experiment={path.stem}"]))


SECTIONS = {"data", "model", "text", "features", "features.build", "features.preprocess", "features.engine_options",
            "trainer", "logger", "predict", "privacy", "eval", "choose_k", "profiles", "explain", "stability", "figures"}


def _leaves(node: dict, prefix: str = ""):
    """(dotted key, value) of every value a user can set (a mapping value such as
    ``block_weights`` is one value)."""
    for key, value in node.items():
        if isinstance(value, dict) and f"{prefix}{key}" in SECTIONS:
            yield from _leaves(value, f"{prefix}{key}.")
        elif not key.startswith("_"):
            yield f"{prefix}{key}", value


FAST = {("", "root"), ("data", "synthetic"), ("data", "transactions"), ("features", "default"), ("text", "minilm")}
KEYED = [pytest.param(g, o, id=f"{g}={o}", marks=() if (g, o) in FAST else pytest.mark.slow)
         for g, o in [("", "root"), *((g, o) for g, o in CONFIG_FILES if g in ("data", "text", "features"))]]


@pytest.mark.parametrize("group,option", KEYED)
def test_every_key_is_checked(group, option, tmp_path):
    """Each key a shipped config sets rejects a value of the wrong kind (a mapping, or a list of
    mappings where a mapping is allowed): no key is left to fail after the data is read."""
    overrides = [] if not group else [f"{group}={option}", *NEEDS.get(f"{group}={option}", [])]
    cfg = compose_cfg(tmp_path, overrides)
    if group == "data" and cfg.data.get("path", "") is None:
        cfg = compose_cfg(tmp_path, [*overrides, "data.path=x"])
    raw = OmegaConf.to_container(cfg, resolve=False)
    node = raw if not group else {group: raw[group]}
    if not group:
        node = {k: v for k, v in raw.items() if k not in ("data", "model", "text", "features")}
    unchecked = []
    for key, value in _leaves(node):
        if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
            continue  # set where the interpolation points (checked there)
        for wrong in ({"wrong": 1}, [{"wrong": 1}]):
            bad = cfg.copy()
            OmegaConf.set_struct(bad, False)
            OmegaConf.update(bad, key, wrong, merge=False)
            try:
                check_config(bad)
            except ConfigError as err:
                if f"{key}=" in str(err) or str(err).startswith(f"{key.split('.')[0]}:"):
                    break
        else:
            unchecked.append(key)
    assert not unchecked, f"keys no constraint checks: {unchecked}"


# --- the vocabulary --------------------------------------------------------------------------
def test_descriptions_and_values_read_like_the_command_line():
    assert describe([Interval(Integral, 1, None, closed="left"), None]) == "an integer >= 1 or null"
    assert describe([Choice("a", "b", aliases=("off",))]) == "one of a, b"
    assert describe([ListOf(str)]) == "a list of strings"
    assert [show(v) for v in (None, True, 1.5, "x", [1, "a"], {"k": None})] == \
        ["null", "true", "1.5", "x", "[1, a]", "{k: null}"]


def test_booleans_are_not_integers_and_choices_ignore_case():
    ints = {"n": [Interval(Integral, 0, None, closed="left")]}
    assert problems(ints, {"n": True}) == ["n=true: an integer >= 0"]
    assert problems(ints, {"n": 3}) == []
    assert problems({"m": [Choice("auto", aliases=("off",))]}, {"m": "AUTO"}) == []
    assert problems({"m": [Choice("auto", aliases=("off",))]}, {"m": "Off"}) == []


# --- through train.py: exit 2, one line, nothing created ---------------------------------------
CLI = [  # k-means and no text: nothing heavy is imported before the check
    (["model=kmeans", "text=none", "n_clusters=0"], "n_clusters=0: an integer >= 2 or auto"),
    (["model=kmeans", "text=none", "data.n_customers=-1", "features.preprocess.scaler=foo"],
     "features.preprocess.scaler=foo: one of standard, minmax, none; data.n_customers=-1: an integer >= 1"),
]


@pytest.mark.parametrize("overrides,message", CLI, ids=[" ".join(o) for o, _ in CLI])
def test_train_py_stops_before_any_data(overrides, message, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), *overrides, f"log_dir={tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("seglab error:")]
    assert errors == [f"seglab error: {message}"], proc.stderr[-2000:]
    written = {p.name for p in tmp_path.rglob("*") if p.is_file() and ".hydra" not in p.parts}
    assert not written & {"run.json", "metrics.json", "segments.parquet", "mlflow.db", "config.yaml"}, written
