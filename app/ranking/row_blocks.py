"""Rows a fit keeps from chunk to chunk: CSR blocks copied into preallocated slabs, and the
chunking of a lazily read sequence."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

import numpy as np
import scipy.sparse as sp

from app.ranking.arrays import Int32Array

# glibc serves allocations below its mmap threshold from its heap, and raises that threshold up
# to 32 MiB as large blocks are freed (mallopt(3), M_MMAP_THRESHOLD); memory freed inside the
# heap stays resident. The rows a fit keeps from chunk to chunk are copied into slabs of this
# many entries (64 MiB arrays), so each is mapped on its own and given back when freed, and the
# heap holds only one chunk's temporaries, the same space reused chunk after chunk.
SLAB_ENTRIES = 1 << 24


T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last one shorter), read lazily."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Slab:
    """Preallocated entry arrays that chunks' rows are copied into, one block after another;
    pages not yet written are not resident."""

    def __init__(self, capacity: int) -> None:
        self.data = np.empty(capacity, dtype=np.float32)
        self.indices = np.empty(capacity, dtype=np.int32)
        self.used = 0
        self.blocks: list[tuple[int, Int32Array, int]] = []  # (first entry, indptr, columns)

    def room(self) -> int:
        return self.data.size - self.used

    def add(self, block: sp.csr_matrix) -> None:
        start, end = self.used, self.used + block.nnz
        self.data[start:end] = block.data
        self.indices[start:end] = block.indices
        self.used = end
        self.blocks.append((start, np.asarray(block.indptr, dtype=np.int32), block.shape[1]))

    def block(self, number: int) -> sp.csr_matrix:
        """One block's rows."""
        start, indptr, columns = self.blocks[number]
        end = start + int(indptr[-1])
        return sp.csr_matrix(
            (self.data[start:end], self.indices[start:end], indptr),
            shape=(indptr.size - 1, columns),
        )

    def rows(self) -> sp.csr_matrix:
        """Every block's rows in one matrix (views of the slab's arrays when it is more than
        half full: scipy copies a view of a much larger array)."""
        indptrs = [indptr[1:] + start for start, indptr, _columns in self.blocks]
        indptr = np.concatenate([np.zeros(1, dtype=np.int64), *indptrs])
        return sp.csr_matrix(
            (self.data[: self.used], self.indices[: self.used], indptr),
            shape=(indptr.size - 1, max(columns for _start, _indptr, columns in self.blocks)),
        )


class RowBlocks:
    """CSR row blocks (one per chunk) kept in order, copied into slabs of SLAB_ENTRIES."""

    def __init__(self) -> None:
        self._slabs: list[Slab] = []

    def append(self, block: sp.csr_matrix) -> None:
        """Keep one chunk's rows."""
        if not self._slabs or self._slabs[-1].room() < block.nnz:
            self._slabs.append(Slab(max(SLAB_ENTRIES, block.nnz)))
        self._slabs[-1].add(block)

    def take_blocks(self) -> Iterator[sp.csr_matrix]:
        """The blocks in order, each slab let go once read."""
        slabs, self._slabs = self._slabs, []
        slabs.reverse()
        while slabs:
            slab = slabs.pop()
            for number in range(len(slab.blocks)):
                yield slab.block(number)
            del slab

    def take_slabs(self) -> list[sp.csr_matrix]:
        """Every row in order, in one matrix per slab."""
        slabs, self._slabs = self._slabs, []
        return [slab.rows() for slab in slabs]
