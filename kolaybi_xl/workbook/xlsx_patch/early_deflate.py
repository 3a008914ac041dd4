"""A big part deflated ahead of the save, in pieces, while the API calls run: at save time only
the pieces its edits touch are deflated again, the others are reused as they are.

Each piece is deflated on its own (a fresh compressor, ended by a sync flush on a byte
boundary, the last one by the final block), so pieces from before and after the edits join
into one valid deflate stream — as ``container.deflate`` joins its chunks.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from .container import BIG_LEVEL, Deflated, deflate_chunk

log = logging.getLogger(__name__)

Edit = tuple[int, int, bytes]  # original bytes start..end replaced by new bytes (see ``sheet``)

PIECE = 256 << 10  # small enough that a few hundred touched rows leave most pieces reusable


class EarlyDeflate:
    """``original`` deflated piece by piece on background threads (started at once)."""

    def __init__(self, original: bytes, piece: int | None = None) -> None:
        self.original = original
        self.piece = piece = piece or PIECE
        self._count = max(1, -(-len(original) // piece))
        self._pieces: list[bytes] | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, name="kolaybi-deflate", daemon=True).start()

    def _bounds(self, k: int) -> tuple[int, int]:
        return k * self.piece, min((k + 1) * self.piece, len(self.original))

    def _run(self) -> None:
        last = self._count - 1

        def one(k: int) -> bytes:
            start, end = self._bounds(k)
            return deflate_chunk(self.original[start:end], k == last, BIG_LEVEL)

        try:
            with ThreadPoolExecutor(max_workers=2) as pool:  # zlib lets go of the GIL
                self._pieces = list(pool.map(one, range(self._count)))
        except Exception as exc:  # the save deflates the whole part as usual
            log.info("deflating ahead failed: %s", exc)
        finally:
            self._done.set()

    def edited(self, edits: Sequence[Edit]) -> Deflated | None:
        """The part with ``edits`` made (in order, not overlapping), deflated: the untouched
        pieces as deflated ahead (waiting for them if needed), the touched ones anew. None if
        deflating ahead failed."""
        self._done.wait()
        pieces = self._pieces
        if pieces is None:
            return None
        runs = self._dirty_runs(edits)
        last = self._count - 1
        contents = [self._content(first, after, mine) for first, after, mine in runs]
        with ThreadPoolExecutor(max_workers=2) as pool:
            fresh = list(
                pool.map(
                    lambda fc: deflate_chunk(fc[1], fc[0][1] - 1 == last, BIG_LEVEL),
                    zip(runs, contents, strict=True),
                )
            )
        out: list[bytes] = []
        crc = size = 0
        k = 0
        for (first, after, _), content, compressed in zip(runs, contents, fresh, strict=True):
            crc, size = self._reuse(k, first, out, crc, size)
            out.append(compressed)
            crc, size = zlib.crc32(content, crc), size + len(content)
            k = after
        crc, size = self._reuse(k, self._count, out, crc, size)
        return Deflated(b"".join(out), crc, size)

    def _reuse(
        self, first: int, after: int, out: list[bytes], crc: int, size: int
    ) -> tuple[int, int]:
        """Pieces ``first`` to ``after - 1`` as deflated ahead (appended to ``out``)."""
        assert self._pieces is not None
        view = memoryview(self.original)
        for k in range(first, after):
            start, end = self._bounds(k)
            out.append(self._pieces[k])
            crc = zlib.crc32(view[start:end], crc)
            size += end - start
        return crc, size

    def _dirty_runs(self, edits: Sequence[Edit]) -> list[tuple[int, int, list[Edit]]]:
        """Runs of adjacent pieces the edits touch: (first piece, piece after the run, edits)."""
        runs: list[tuple[int, int, list[Edit]]] = []
        last = self._count - 1
        for edit in edits:
            start, end, _ = edit
            first = min(start // self.piece, last)
            after = min(max(end - 1, start) // self.piece, last) + 1
            if runs and first < runs[-1][1]:  # in the run before: one run
                previous = runs[-1]
                runs[-1] = (previous[0], max(previous[1], after), [*previous[2], edit])
            else:
                runs.append((first, after, [edit]))
        return runs

    def _content(self, first: int, after: int, edits: Sequence[Edit]) -> bytes:
        """The new bytes of pieces ``first`` to ``after - 1``: the original with ``edits``
        (those that fall in them) made."""
        low, high = self._bounds(first)[0], self._bounds(after - 1)[1]
        parts: list[bytes] = []
        pos = low
        for start, end, new in edits:
            parts.append(self.original[pos:start])
            parts.append(new)
            pos = end
        parts.append(self.original[pos:high])
        return b"".join(parts)
