"""The LoRA sentiment adapter for the packaged all-MiniLM-L6-v2 (``text.head=adapter``).

Why an adapter: a head on *frozen* MiniLM embeddings caps what sentiment can reach, and a full
fine-tuned copy of the weights (90 MB) does not belong in the package. A LoRA adapter stores, per
adapted linear layer, two low-rank factors ``A`` (r x in) and ``B`` (out x r) whose product is the
fine-tuning update: ``W' = W + (alpha / r) * B @ A``. Together with a linear classification head
on the mean-pooled, L2-normalised embedding it is a few hundred kB
(``seglab/assets/sentiment_adapter_minilm.npz``, made by ``scripts/train_sentiment_adapter.py``).

At load the update is merged into the base weights here, in NumPy, and the merged model is
written once as an ordinary Hugging Face folder (``merged_model_dir``) under the text cache, in
a folder named by the adapter's and the base's sha256. Everything downstream (the CTranslate2
int8 conversion, the vector cache) keys on that folder, so the default path stays as fast as
the frozen one, and a changed adapter or base can never reuse stale vectors. The merge needs
no ``peft`` at run time (``peft`` is only needed to *train* an adapter: ``pip install
"seglab[adapter]"``); a test checks this merge against ``peft``'s own ``merge_and_unload``.

Provenance: the adapter records the sha256 of the base ``model.safetensors`` it was trained on.
`weights_sha256` hashes what is actually loaded; `seglab.text.features` refuses the adapter with a
warning (and falls back to the frozen shipped head) when the two differ.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from seglab.errors import ConfigError
from seglab.text.sentiment import SentimentHead

#: The adapter shipped with seglab for the packaged all-MiniLM-L6-v2.
SHIPPED_ADAPTER = "sentiment_adapter_minilm.npz"
#: Files of a Hugging Face folder copied next to the merged weights (tokenizer and config).
_COPIED = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def weights_sha256(folder: str | Path) -> str | None:
    """sha256 of a model folder's weights: ``model.safetensors`` (or every weight file, in name
    order, hashed together); ``None`` when the folder holds no weight file."""
    folder = Path(folder)
    single = folder / "model.safetensors"
    if single.is_file():
        return file_sha256(single)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    if not files:
        return None
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode())
        h.update(file_sha256(p).encode())
    return h.hexdigest()


@dataclass
class SentimentAdapter:
    """LoRA factors per adapted weight, the classification head, and how they were made.

    Attributes:
        lora: ``{weight name in the base state dict: (A (r, in), B (out, r))}``.
        scaling: ``alpha / r``, the factor of ``B @ A`` in the merged weight.
        head_weight / head_bias: the linear head, logits = emb @ head_weight + head_bias
            (emb: mean-pooled, L2-normalised last hidden state), shape (hidden, 2) and (2,).
        temperature: logits are divided by it (temperature scaling fitted on a validation split).
        base_sha256: sha256 of the base ``model.safetensors`` the adapter was trained on.
        meta: recipe, data, metrics and calibration (saved as JSON inside the file).
    """

    lora: dict[str, tuple[np.ndarray, np.ndarray]]
    scaling: float
    head_weight: np.ndarray
    head_bias: np.ndarray
    temperature: float
    base_sha256: str
    meta: dict = field(default_factory=dict)
    sha256: str | None = None  # of the file it was loaded from

    def merge(self, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A copy of ``state`` with every adapted weight replaced by ``W + scaling * B @ A``."""
        missing = sorted(set(self.lora) - set(state))
        if missing:
            raise ConfigError(f"the adapter adapts weights the base model does not have: {missing[:3]}")
        out = dict(state)
        for name, (a, b) in self.lora.items():
            w = np.asarray(state[name], dtype=np.float32)
            delta = self.scaling * (b.astype(np.float32) @ a.astype(np.float32))
            if delta.shape != w.shape:
                raise ConfigError(f"adapter update for {name} has shape {delta.shape}, the base weight {w.shape}")
            out[name] = (w + delta).astype(np.float32)
        return out

    def head(self) -> SentimentHead:
        """The calibrated classification head (temperature folded into the weights)."""
        t = float(self.temperature)
        return SentimentHead(
            weights=[(self.head_weight / t).astype(np.float32)],
            biases=[(self.head_bias / t).astype(np.float32)],
            classes=["negative", "positive"],
            class_scores=np.array([-1.0, 1.0]),
            meta={"kind": "adapter", "adapter_sha256": self.sha256, "temperature": t},
        )

    # --- persistence ---------------------------------------------------------------------
    def save(self, path: str | Path, dtype=np.float16) -> Path:
        """Write the adapter (LoRA factors in ``dtype``: fp16 halves the file, and what is
        saved is what is evaluated, since evaluation loads this file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        names = sorted(self.lora)
        arrays = {}
        for i, name in enumerate(names):
            arrays[f"A{i}"] = self.lora[name][0].astype(dtype)
            arrays[f"B{i}"] = self.lora[name][1].astype(dtype)
        arrays["head_weight"] = self.head_weight.astype(np.float32)
        arrays["head_bias"] = self.head_bias.astype(np.float32)
        header = {"format": "seglab-lora-1", "names": names, "scaling": float(self.scaling),
                  "temperature": float(self.temperature), "base_sha256": self.base_sha256, "meta": self.meta}
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SentimentAdapter:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                if header.get("format") != "seglab-lora-1":
                    raise ValueError(f"unknown format {header.get('format')!r}")
                lora = {n: (z[f"A{i}"], z[f"B{i}"]) for i, n in enumerate(header["names"])}
                return cls(lora=lora, scaling=float(header["scaling"]), head_weight=z["head_weight"],
                           head_bias=z["head_bias"], temperature=float(header["temperature"]),
                           base_sha256=str(header["base_sha256"]), meta=header.get("meta", {}),
                           sha256=file_sha256(path))
        except (OSError, KeyError, ValueError) as e:
            raise ConfigError(f"{path} is not a seglab LoRA adapter (.npz from SentimentAdapter.save): {e}") from e


def lora_from_peft(model) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    """``({base weight name: (A, B)}, alpha / r)`` from a ``peft`` LoRA model (training side)."""
    params = dict(model.named_parameters())
    lora: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, p in params.items():
        if ".lora_A." not in name:
            continue
        module = name.split(".lora_A.")[0].replace("base_model.model.", "", 1)
        b = params[name.replace(".lora_A.", ".lora_B.")]
        lora[module + ".weight"] = (p.detach().cpu().numpy().copy(), b.detach().cpu().numpy().copy())
    scalings = {float(s) for m in model.modules() if isinstance(getattr(m, "scaling", None), dict)
                for s in m.scaling.values()}
    if len(scalings) != 1:
        raise ConfigError(f"expected one LoRA scaling for every adapted layer, found {sorted(scalings)}")
    return lora, scalings.pop()


def shipped_adapter_path() -> Path:
    return Path(str(resources.files("seglab") / "assets" / SHIPPED_ADAPTER))


def load_adapter(path: str | Path | None = None) -> SentimentAdapter:
    path = Path(path) if path else shipped_adapter_path()
    if not path.exists():
        raise ConfigError(f"the sentiment adapter {path} is missing; rebuild it with scripts/train_sentiment_adapter.py")
    return SentimentAdapter.load(path)


def merged_model_dir(base_dir: str | Path, adapter: SentimentAdapter, root: str | Path | None,
                     base_sha: str | None = None) -> Path:
    """A Hugging Face folder holding ``base_dir``'s model with ``adapter`` merged in (made once).

    The folder is named by the adapter's and the base weights' sha256, so the CTranslate2
    conversion and the vector cache (both keyed by the model folder) never mix models. It is
    written to a temporary folder and renamed into place, so parallel jobs can race on it.
    """
    from safetensors.numpy import load_file, save_file

    base_dir = Path(base_dir)
    base_sha = base_sha or weights_sha256(base_dir) or "none"  # the caller's, when it has hashed them already
    root = Path(root) if root else Path(tempfile.gettempdir()) / "seglab_merged"
    target = root / f"lora_{(adapter.sha256 or 'unsaved')[:16]}_base_{base_sha[:16]}"
    if (target / "model.safetensors").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".merge_tmp_", dir=root))
    try:
        out = tmp / "model"
        out.mkdir()
        for name in _COPIED:
            if (base_dir / name).is_file():
                shutil.copy2(base_dir / name, out / name)
        state = load_file(str(base_dir / "model.safetensors"))
        save_file(adapter.merge(state), str(out / "model.safetensors"), metadata={"format": "pt"})
        (out / "seglab_adapter.json").write_text(json.dumps(
            {"adapter_sha256": adapter.sha256, "base_sha256": base_sha, "base_dir": str(base_dir)}, indent=1))
        try:
            os.rename(out, target)
        except OSError:  # another job finished first: use theirs
            if not (target / "model.safetensors").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
