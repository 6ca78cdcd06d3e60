"""Validated chunks parked on disk between reading a file and writing it to the store.

A streamed import cannot write while it reads: rows far down the file may still fail (an
outlier is only an outlier against the whole file; a key may repeat 900,000 rows later), and
a refused import must leave the store untouched. So each validated chunk is pickled into a
temporary folder and read back one at a time for the write: peak memory stays one chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

ROW = "__row"  # the reader's row number of each spilled row


class Spill:
    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.parts: dict[str, int] = {}

    def put(self, kind: str, frame: pd.DataFrame) -> None:
        k = self.parts.get(kind, 0)
        frame.to_pickle(self.folder / f"{kind}-{k:06d}.pkl", compression=None)
        self.parts[kind] = k + 1

    def frames(self, kind: str) -> Iterator[pd.DataFrame]:
        for k in range(self.parts.get(kind, 0)):
            yield pd.read_pickle(self.folder / f"{kind}-{k:06d}.pkl", compression=None)
