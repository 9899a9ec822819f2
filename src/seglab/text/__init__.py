"""Review text -> per-customer sentiment features (and a multimodal autoencoder that uses them).

- `build_text_features(data, cfg_text)`: what `seglab.train.run` calls (see `seglab.text.features`);
- `score_texts(texts, cfg_text)`: per-review score in [-1, 1] and class probabilities;
- `seglab.text.encoder`: offline transformer loading and fast, length-sorted batched inference;
- `seglab.text.sentiment`: the sentiment heads and the label->score rules for classifiers;
- `seglab.text.aggregate`: the per-customer aggregation math;
- `seglab.text.cache`: the on-disk (model, text hash) cache;
- `seglab.text.multimodal`: the two-branch autoencoder (tabular + text) with DEC/IDEC.

Review text never leaves this package: only scores, aggregates, hashes and counts do.
Importing it is cheap: torch and transformers load only when a model is built.
"""

from seglab.text.features import ReviewScores, build_text_features, score_texts

__all__ = ["ReviewScores", "build_text_features", "score_texts"]
