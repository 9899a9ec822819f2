"""Mini-batches of in-memory rows by index: no copy of the feature matrix, one order on every rank.

Why not ``DataLoader(TensorDataset(X[train_rows]), shuffle=True)``: ``X[train_rows]`` copies
90% of the matrix (0.8 GB at 10^7 x 21 float32), and the default loader fetches rows one by
one and stacks them (a few ms per batch, most of a small network's step). Here a sampler
yields whole index batches and the dataset answers each with one fancy-indexing call.

Under DDP (``torch.distributed`` initialised when the epoch starts) every rank draws the same
seeded permutation and takes its own slice of each *global* batch of ``batch_size`` rows, so the
ranks together see exactly the batches a single process would, and the averaged gradient is
the single-process gradient (up to float summation order). The effective batch size therefore
does not change with the number of processes. A final batch smaller than the number of ranks is
dropped (it could not give every rank a row). Validation loaders are not sharded (``shard=False``):
every rank scores the same rows, so early stopping and the best weights agree across ranks.

With one process and ``shuffle=True`` the batches are the ones
``DataLoader(..., shuffle=True, generator=torch.Generator().manual_seed(seed))`` gives: the same
successive ``torch.randperm`` draws from one seeded generator.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, number of processes) of the initialised process group, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class RowsDataset(Dataset):
    """Rows of one or more tensors (same length), fetched a whole index batch at a time."""

    def __init__(self, *tensors: torch.Tensor):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("RowsDataset needs tensors of equal length")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t[index] for t in self.tensors)


class IndexBatchSampler(Sampler[torch.Tensor]):
    """Index batches over ``rows`` (positions into the dataset; all rows when None).

    ``shuffle``: a new seeded permutation each epoch; otherwise ``rows`` in order. Under DDP with
    ``shard`` each rank yields its contiguous slice of every global batch (see the module docstring).
    """

    def __init__(self, n_rows: int, batch_size: int, *, rows: Sequence[int] | np.ndarray | None = None,
                 shuffle: bool = False, seed: int | None = None, drop_last: bool = False, shard: bool = True):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.rows = None if rows is None else torch.as_tensor(np.asarray(rows, dtype=np.int64))
        self.n = int(n_rows) if rows is None else len(self.rows)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.shard = bool(shard)
        self.generator = torch.Generator().manual_seed(int(seed)) if shuffle and seed is not None else None

    def _n_global_batches(self, world: int) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last and rest >= world else 0)

    def _rank_and_world(self) -> tuple[int, int]:
        return rank_and_world() if self.shard else (0, 1)

    def __len__(self) -> int:
        return self._n_global_batches(self._rank_and_world()[1])

    def __iter__(self) -> Iterator[torch.Tensor]:
        rank, world = self._rank_and_world()
        if self.shuffle:
            gen = self.generator
            if gen is None:  # unseeded: from torch's global RNG, as RandomSampler does
                gen = torch.Generator().manual_seed(int(torch.empty((), dtype=torch.int64).random_().item()))
            order = torch.randperm(self.n, generator=gen)
            # RandomSampler draws a second, unused permutation at the end of each epoch; drawing
            # it too keeps every seeded order identical to the DataLoader's
            torch.randperm(self.n, generator=gen)
        else:
            order = torch.arange(self.n)
        positions = order if self.rows is None else self.rows[order]
        for b in range(self._n_global_batches(world)):
            batch = positions[b * self.batch_size:(b + 1) * self.batch_size]
            if world > 1:
                batch = torch.tensor_split(batch, world)[rank]
            yield batch


def index_loader(*tensors: torch.Tensor, batch_size: int, rows: Sequence[int] | np.ndarray | None = None,
                 shuffle: bool = False, seed: int | None = None, drop_last: bool = False,
                 shard: bool = True) -> DataLoader:
    """A DataLoader of batches ``tuple(t[idx] for t in tensors)`` over ``rows`` (default: all)."""
    sampler = IndexBatchSampler(len(tensors[0]), batch_size, rows=rows, shuffle=shuffle, seed=seed,
                                drop_last=drop_last, shard=shard)
    # batch_size=None: the sampler's items already are batches; no per-row fetch, no collation.
    # The loader draws its base seed from the sampler's generator at each epoch, as a shuffled
    # DataLoader given that generator does, so the seeded orders stay identical to it.
    return DataLoader(RowsDataset(*tensors), sampler=sampler, batch_size=None, num_workers=0,
                      generator=sampler.generator)
