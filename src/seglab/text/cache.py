"""On-disk cache of per-text model outputs, keyed by (model identity, text hash).

Re-runs and sweeps over the same reviews never re-encode them: only texts whose hash is not in
the cache go through the transformer. The cache holds **no text**: rows are
``sha256(text) -> float32 vector``, one SQLite file per model identity (a folder named by a
hash of the identity, with a ``meta.json`` saying which model it belongs to). SQLite with a
busy timeout and WAL mode lets parallel sweep jobs share one cache safely.

Scoring at scale is resumable through it: missing texts are encoded a chunk at a time and each
chunk is committed as soon as it is done, so a job killed while scoring 10^6 reviews restarts
by encoding only what no finished chunk holds, with labelled progress (`seglab.progress`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class VectorCache:
    """Vectors of length ``dim`` per text for one model identity, under ``root``.

    ``root=None`` disables the cache (everything is computed, nothing stored).
    """

    def __init__(self, root: str | Path | None, identity: str, dim: int) -> None:
        self.identity = identity
        self.dim = int(dim)
        self.hits = 0
        self.misses = 0
        self.path: Path | None = None
        if root is None or str(root) == "":
            return
        key = hashlib.sha256(identity.encode()).hexdigest()[:20]
        folder = Path(root) / key
        folder.mkdir(parents=True, exist_ok=True)
        meta = folder / "meta.json"
        if not meta.exists():
            meta.write_text(json.dumps({"identity": identity, "dim": self.dim}, indent=1))
        self.path = folder / "vectors.sqlite"
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS vec (h BLOB PRIMARY KEY, v BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=120)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def get_or_compute(
        self,
        texts: Sequence[str],
        compute: Callable[[list[str]], np.ndarray],
        chunk_size: int = 1024,
        desc: str | None = "text: encoding reviews",
    ) -> np.ndarray:
        """Vectors for ``texts`` (in order); ``compute`` runs on the distinct missing texts only.

        Missing texts are computed ``chunk_size`` at a time (longest first) and each chunk is
        stored at once, so an interrupted long job keeps what it had finished. ``desc`` labels
        the progress over the missing texts (``None``: no progress output).
        """
        from seglab.progress import Progress

        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        hashes = [text_hash(t) for t in texts]
        # distinct texts: duplicates are encoded once even without a cache
        first: dict[bytes, int] = {}
        for i, h in enumerate(hashes):
            first.setdefault(h, i)
        found: dict[bytes, np.ndarray] = {}
        if self.path is not None:
            keys = list(first)
            with self._connect() as con:
                for s in range(0, len(keys), 500):
                    chunk = keys[s : s + 500]
                    q = f"SELECT h, v FROM vec WHERE h IN ({','.join('?' * len(chunk))})"
                    for h, v in con.execute(q, chunk):
                        vec = np.frombuffer(v, dtype=np.float32)
                        if vec.shape[0] == self.dim:
                            found[bytes(h)] = vec
        missing = [h for h in first if h not in found]
        self.hits += len(first) - len(missing)
        self.misses += len(missing)
        if missing:
            missing.sort(key=lambda h: -len(texts[first[h]]))  # chunks of similar length
            bar = Progress(desc, total=len(missing), unit="review") if desc else contextlib.nullcontext()
            with bar:
                for s in range(0, len(missing), int(chunk_size)):
                    part = missing[s : s + int(chunk_size)]
                    vecs = np.asarray(compute([texts[first[h]] for h in part]), dtype=np.float32)
                    for h, v in zip(part, vecs, strict=True):
                        found[h] = v
                    if self.path is not None:
                        with self._connect() as con:
                            con.executemany(
                                "INSERT OR REPLACE INTO vec (h, v) VALUES (?, ?)",
                                ((h, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                                 for h, v in zip(part, vecs, strict=True)),
                            )
                    if desc:
                        bar.update(len(part))
        for i, h in enumerate(hashes):
            out[i] = found[h]
        return out
