"""Diagnostics: what refits or probes a model to say how far a segmentation can be trusted.

Unlike ``seglab.evaluate`` (labels and features in, numbers out), everything here fits models
or calls a fitted one. Each takes the run's fitted model (refits are unfitted copies of it,
``refit.unfitted_copy``) and, where features must be rebuilt, a feature builder (a callable
``CustomerData -> per-customer frame``), never a callback into ``seglab.train``:

- ``choose_k``: every usual criterion over a range of k, one rule to pick;
- ``stability``: seed and bootstrap refits, pairwise ARI and per-segment Jaccard;
- ``temporal``: segments at an earlier cut-off (features rebuilt from the data up to it,
  review text included) against segments at the end;
- ``explain``: surrogate-tree rules and permutation importance;
- ``run_reports``: the files a run writes from these and from the segment profiles.
"""
