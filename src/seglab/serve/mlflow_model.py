"""Log a run's pipeline to MLflow as a ``pyfunc`` model defined from code (nothing pickled).

The model is `seglab.serve.pyfunc_model` (a code file) with the run's bundle as its artifact, a
signature (feature columns in, segments out) and a synthetic input example: the training means
of each feature (from the bundle's statistics), never a real customer's row. The model registry,
``mlflow.pyfunc.load_model`` and ``mlflow models serve --env-manager local`` use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

MODEL_NAME = "segments"


def synthetic_example(pipe: Any) -> pd.DataFrame:
    """One made-up customer: the training mean of every feature (no real row)."""
    stats = pipe.statistics_["features"]
    row = {c: float(stats[c]["mean"]) if stats[c]["mean"] is not None else 0.0 for c in pipe.feature_columns}
    return pd.DataFrame([{"customer_id": "example", **row}])


def log_pyfunc(client: Any, run_id: str, run_dir: str | Path, pipe: Any) -> str:
    """Save ``run_dir``'s bundle as a pyfunc model and log it to tracker run ``run_id`` under
    ``segments/`` (``client``: an ``MlflowClient``); returns its ``runs:/`` URI."""
    import tempfile
    import warnings

    import mlflow
    from mlflow.models import infer_signature

    from seglab import __version__
    from seglab.rundir import BUNDLE

    example = synthetic_example(pipe)
    with warnings.catch_warnings():  # the integer column is `segment`, which is never missing
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        signature = infer_signature(example, pipe.assign(pipe.feature_matrix(example)).reset_index())
    code = Path(__file__).with_name("pyfunc_model.py")
    with tempfile.TemporaryDirectory(prefix="seglab-pyfunc-") as tmp:
        path = Path(tmp) / MODEL_NAME
        mlflow.pyfunc.save_model(path=str(path), python_model=str(code),
                                 artifacts={"bundle": str(Path(run_dir) / BUNDLE)}, signature=signature,
                                 input_example=example, pip_requirements=[f"seglab=={__version__}"])
        client.log_artifacts(run_id, str(path), artifact_path=MODEL_NAME)
    return f"runs:/{run_id}/{MODEL_NAME}"


def log_run_model(client: Any, run_id: str, run_dir: str | Path) -> str | None:
    """`log_pyfunc` for a finished run dir; None (and a log line) when its model cannot assign
    new customers (the bundle says why)."""
    import logging

    from seglab.bundle import BundleError
    from seglab.pipeline import load_run

    try:
        pipe = load_run(run_dir)
    except BundleError as err:
        logging.getLogger("seglab").info("no MLflow pyfunc model for this run: %s", err)
        return None
    return log_pyfunc(client, run_id, run_dir, pipe)
