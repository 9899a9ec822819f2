"""seglab: deep-learning customer segmentation.

The flow is data source -> CustomerData -> features (+ text) -> preprocess -> model ->
evaluate -> profiles -> tracker. ``seglab.train.run(cfg)`` is the one place that wires it up.
"""

from seglab.errors import DataValidationError, SeglabError

__version__ = "0.1.0"
__all__ = ["DataValidationError", "SeglabError", "__version__", "load_run"]


def load_run(run_dir):
    """The fitted `seglab.pipeline.SegmentationPipeline` of a finished run: ``seglab.load_run(d).assign(df)``."""
    from seglab.pipeline import load_run as _load_run

    return _load_run(run_dir)
