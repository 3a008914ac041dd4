"""The offline commands: ``sandbox`` (serve the emulator) and ``demo`` (the whole flow)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import signal
import sys
from typing import TYPE_CHECKING, Any

from ..errors import ExitCode
from ..i18n import _
from .common import CommandError

if TYPE_CHECKING:
    from ..sandbox import Sandbox


def cmd_sandbox(args: argparse.Namespace) -> int:
    sandbox = _start_sandbox(args)
    # `kill` (SIGTERM) stops it as cleanly as Ctrl+C does.
    previous: Any = None
    with contextlib.suppress(ValueError):  # not the main thread (tests): no handler needed
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:  # from here on a signal at any moment stops it cleanly
        print(_("KolayBi sandbox running at {url}").format(url=sandbox.url))
        print(f"  export KOLAYBI_BASE_URL={sandbox.url}")
        print(f"  export KOLAYBI_CHANNEL={sandbox.channel}")
        print(f"  export KOLAYBI_API_KEY={sandbox.api_key}")
        print(_("Press Ctrl+C to stop."), flush=True)
        sandbox.serve_forever()
    except KeyboardInterrupt:
        print(_("stopped"))
    finally:
        sandbox.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return ExitCode.OK


def _start_sandbox(args: argparse.Namespace) -> Sandbox:
    from ..sandbox import Sandbox

    kwargs: dict[str, Any] = {"host": args.host, "port": args.port, "invoices": args.invoices}
    if args.channel:
        kwargs["channel"] = args.channel
    if args.api_key:
        kwargs["api_key"] = args.api_key
    sandbox = Sandbox(seed=args.seed, verbose=args.verbose > 0, **kwargs)
    try:
        sandbox.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                "port {port} on {host} is already in use (another sandbox?); stop that one or "
                "choose another port with --port",
                port=args.port,
                host=args.host,
            ) from None
        raise CommandError(
            "cannot serve on {host}:{port}: {why}", host=args.host, port=args.port, why=exc.strerror
        ) from None
    return sandbox


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    return run_demo(args.out, invoices=args.invoices, stream=sys.stdout, force=args.force)
