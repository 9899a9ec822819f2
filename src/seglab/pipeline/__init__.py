"""The fitted pipeline of a run: feature building, text featurizer config, preprocessor, model.

`SegmentationPipeline` (``seglab.pipeline.segmentation``) is what a run saves (as a bundle,
`seglab.bundle`) and what ``seglab assign``/``serve``/``drift`` load; `load_run` reads a run dir's.
"""

from seglab.pipeline.segmentation import SegmentationPipeline, load_run, training_features

__all__ = ["SegmentationPipeline", "load_run", "training_features"]
