"""CTranslate2 int8 inference for encoder-only transformers (the fast CPU path of ``text=minilm``).

Why: on CPU the MiniLM scorer is compute-bound in fp32 matrix products (about 0.6 GFLOP per
30-token tweet); PyTorch at fp32 on 2 cores tops out near 210 tweets/s. CTranslate2 runs the
same BERT graph with int8 weights (cosine to the fp32 embedding about 0.995 on tweets, accuracy
of the shipped sentiment head unchanged within a few tenths of a point: ``experiments/text.md``)
and, with one batch per core in parallel (``inter_threads``), more than doubles throughput on short
texts where splitting one small batch across cores wastes time in synchronisation.

The Hugging Face model is converted once, on first use, into ``convert_root`` (by default the
text cache folder) under a name derived from the model identity and the compute type; the
conversion is written to a temporary folder and renamed into place so parallel sweep jobs can
race on it safely. Tokenisation stays with the Hugging Face tokenizer, so both backends see the
same token ids; mean pooling and L2 normalisation happen here in NumPy.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from seglab.errors import ConfigError

log = logging.getLogger(__name__)

#: Model types CTranslate2's Transformers converter handles as encoders (others use torch).
SUPPORTED_MODEL_TYPES = ("bert", "distilbert", "xlm-roberta", "roberta")


def available() -> bool:
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        return False
    return True


def converted_model(source: str, identity: str, compute_type: str, convert_root: str | Path | None) -> Path:
    """Folder of the CTranslate2 conversion of ``source`` (converting it on first use)."""
    import ctranslate2

    root = Path(convert_root) if convert_root else Path(tempfile.gettempdir()) / "seglab_ct2"
    key = hashlib.sha256(f"{identity};ct2={ctranslate2.__version__};{compute_type}".encode()).hexdigest()[:20]
    target = root / f"ct2_{key}"
    if (target / "model.bin").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".ct2_tmp_", dir=root))
    try:
        out = tmp / "model"
        ctranslate2.converters.TransformersConverter(source).convert(str(out), quantization=compute_type)
        try:
            out.rename(target)
        except OSError:  # another job finished first: use theirs
            if not (target / "model.bin").exists():
                raise
        log.info("text: converted %s to CTranslate2 (%s) in %s", Path(source).name, compute_type, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class CT2Encoder:
    """Mean-pooled, L2-normalised sentence embeddings from a CTranslate2 encoder.

    Args:
        model_dir: a converted model folder (see `converted_model`).
        compute_type: CTranslate2 compute type, e.g. ``"int8"`` (default) or ``"float32"``.
        device: ``"cpu"`` or ``"cuda"``.
        workers: batches run in parallel, one core each (``inter_threads``).
    """

    def __init__(
        self, model_dir: str | Path, compute_type: str = "int8", device: str = "cpu", workers: int = 1
    ):
        import ctranslate2

        self.workers = max(1, int(workers))
        try:
            self.encoder = ctranslate2.Encoder(
                str(model_dir),
                device=device,
                compute_type=compute_type,
                inter_threads=self.workers,
                intra_threads=1,
            )
        except (RuntimeError, ValueError) as e:
            raise ConfigError(
                f"CTranslate2 could not load {model_dir} ({compute_type}, {device}): {e}"
            ) from e

    def _pooled(self, batch_ids: list[list[int]]) -> np.ndarray:
        out = self.encoder.forward_batch(batch_ids)
        hidden = np.asarray(out.last_hidden_state, dtype=np.float32)  # (b, t, h)
        lengths = np.fromiter((len(x) for x in batch_ids), dtype=np.int64, count=len(batch_ids))
        mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(lengths, 1)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def embed_batches(
        self,
        ids: Sequence[list[int]],
        batches: Sequence[np.ndarray],
        out: np.ndarray,
        on_batch: Callable[[int], None],
    ) -> None:
        """Fill ``out[idx]`` for every index batch, ``workers`` batches at a time."""

        def one(idx: np.ndarray) -> np.ndarray:
            return self._pooled([list(ids[i]) for i in idx])

        if self.workers == 1:
            for idx in batches:
                out[idx] = one(idx)
                on_batch(len(idx))
            return
        with ThreadPoolExecutor(self.workers) as pool:
            for idx, pooled in zip(batches, pool.map(one, batches), strict=True):
                out[idx] = pooled
                on_batch(len(idx))
