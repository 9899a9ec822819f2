"""Review text -> per-customer sentiment features (and a multimodal autoencoder that uses them).

- `build_text_features(data, cfg_text)`: what `seglab.train.run` calls (see `seglab.text.features`);
- `score_texts(texts, cfg_text)`: per-review score in [-1, 1] and class probabilities;
- `seglab.text.adapter`: the LoRA sentiment adapter (merged into MiniLM at load, sha256-checked);
- `seglab.text.calibration`: temperature scaling and expected calibration error;
- `seglab.text.encoder`: offline transformer loading and fast, length-sorted batched inference;
- `seglab.text.sentiment`: the sentiment heads and the label->score rules for classifiers;
- `seglab.text.aggregate`: the per-customer aggregation math;
- `seglab.text.cache`: the on-disk (model, text hash) cache;
- `seglab.text.multimodal`: the two-branch autoencoder (tabular + text) with DEC/IDEC.

The per-review score is P(positive) - P(negative) = 2 P(positive) - 1, in [-1, 1], 0 being the
decision boundary; with the adapter (temperature-scaled on held-out reviews of its training
corpora) P(positive) is a calibrated probability on reviews like those. ``text.neutral_band``
calls a review neutral when |score| is within the band.

Review text never leaves this package: only scores, aggregates, hashes and counts do.
Importing it is cheap: torch and transformers load only when a model is built.
"""

from seglab.text.features import ReviewScores, build_text_features, score_texts

__all__ = ["ReviewScores", "build_text_features", "score_texts"]
