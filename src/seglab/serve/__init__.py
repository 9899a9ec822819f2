"""Putting a run's segments to work: assign new customers in batch or as a stream (`assign`),
over HTTP (`app`), and watch for drift (`drift`). Everything here starts from a saved
`seglab.pipeline.SegmentationPipeline` (``seglab.load_run``) and never imports `seglab.train`."""
