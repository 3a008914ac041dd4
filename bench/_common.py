"""Shared pieces of the bench scripts: a sandbox in its own process, books with exactly N sales
invoices, peak memory, running one measurement in a fresh interpreter.

The sandbox runs in a separate process (``python bench/_common.py serve ...``) so that the
process being measured holds only the client side: its peak memory is the product's (or the
baseline's), not the emulator's books, and the emulator's work does not compete for its GIL.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # a checkout without an install; PYTHONPATH still wins

from kolaybi_xl.sandbox import Books, Sandbox  # noqa: E402

PYTHON = sys.executable
SALES_SHARE = 0.58  # a seeded book's share of sale invoices is ~60%


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    try:
        # Linux: the high-water mark of this program's own memory. ``ru_maxrss`` is not: it
        # keeps the peak of the process it was forked from (a driver holding a 50k-row book).
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def sale_books(sales: int, seed: int = 7) -> Books:
    """Seeded books cut down to exactly ``sales`` sale invoices (the seed's mix of currencies,
    statuses, payments and hostile texts), plus the seed's vaults."""
    source = Books.seeded(invoices=int(sales / SALES_SHARE) + 60, seed=seed)
    records = source.invoice_records("sale_invoice")
    while len(records) < sales:  # never for the seeds used here; kept for other seeds
        source = Books.seeded(invoices=len(source.invoices) * 2, seed=seed)
        records = source.invoice_records("sale_invoice")
    books = Books()
    for vault in source.vault_records():
        books.add_vault(vault.name, vault.type, vault.currency, vault.balance, id=vault.id)
    for record in records[:sales]:
        books.put_invoice(record)
    return books


# -- the sandbox in its own process ---------------------------------------------------------------


def _serve(sales: int, seed: int, latency: float) -> None:
    books = sale_books(sales, seed)
    with Sandbox(books=books, latency=latency) as sb:
        # Render every invoice once, so the first timed list call does not pay for it.
        sb.app.api.items(books.invoice_records("sale_invoice"))
        info = {"url": sb.url, "root": sb.root_url, "channel": sb.channel, "key": sb.api_key}
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


class SandboxProcess:
    """``with SandboxProcess(sales=10_000) as sb:`` — a sandbox serving in a child process."""

    def __init__(self, *, sales: int, seed: int = 7, latency: float = 0.0) -> None:
        self.args = [str(sales), str(seed), str(latency)]
        self.proc: subprocess.Popen[str] | None = None
        self.url = self.root = self.channel = self.api_key = ""

    def __enter__(self) -> SandboxProcess:
        self.proc = subprocess.Popen(
            [PYTHON, __file__, "serve", *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process did not start")
        info = json.loads(line)
        self.url, self.root = info["url"], info["root"]
        self.channel, self.api_key = info["channel"], info["key"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def env(self) -> dict[str, str]:
        return {
            "KOLAYBI_BASE_URL": self.url,
            "KOLAYBI_CHANNEL": self.channel,
            "KOLAYBI_API_KEY": self.api_key,
        }

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the sandbox on loopback
            f"{self.root}/_sandbox/{path}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            return json.loads(answer.read())

    def ledger(self) -> list[dict[str, Any]]:
        return list(self.control("ledger"))


# -- measuring ------------------------------------------------------------------------------------


def run_measurement(args: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python ARGS`` in a fresh interpreter; its last stdout line is a JSON result."""
    return dict(json.loads(run_python(args, env).strip().splitlines()[-1]))


def run_python(args: Sequence[str], env: dict[str, str] | None = None) -> str:
    """Run ``python ARGS`` in a fresh interpreter; its stdout (it must succeed)."""
    out = subprocess.run(
        [PYTHON, *args],
        check=False,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            **(env or {}),
        },
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out.stdout


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Clock:
    """Wall and CPU seconds since creation."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def time_phases(phases: dict[str, float], owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so its wall seconds add up in ``phases[label]``."""
    raw = owner.__dict__.get(name)
    # A classmethod stays one: wrapping the method bound to ``owner`` would make a subclass's
    # ``open`` build an ``owner`` (StreamGrid.open giving a FileGrid).
    original = raw.__func__ if isinstance(raw, classmethod) else getattr(owner, name)

    def run(*args: Any, **kwargs: Any) -> Any:
        clock = Clock()
        try:
            return original(*args, **kwargs)
        finally:
            phases[label] = phases.get(label, 0.0) + clock.read()[0]

    setattr(owner, name, classmethod(run) if isinstance(raw, classmethod) else run)


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    _serve(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
