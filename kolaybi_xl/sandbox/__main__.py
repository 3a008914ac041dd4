"""``python -m kolaybi_xl.sandbox``: serve the emulator until Ctrl+C (no other kolaybi_xl code)."""

from __future__ import annotations

import argparse

from .server import DEFAULT_API_KEY, DEFAULT_CHANNEL, Sandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kolaybi_xl.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--channel", default=DEFAULT_CHANNEL)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=None, help="page GET /invoices")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    sandbox = Sandbox(
        host=args.host,
        port=args.port,
        channel=args.channel,
        api_key=args.api_key,
        invoices=args.invoices,
        seed=args.seed,
        page_size=args.page_size,
        latency=args.latency,
        verbose=not args.quiet,
    )
    # The key is printed on purpose: it is the sandbox's own demo key, needed to connect.
    print(f"KolayBi sandbox: {sandbox.url}")
    print(f"Channel: {sandbox.channel}")
    print(f"API key: {sandbox.api_key}")
    print("Ctrl+C to stop.", flush=True)
    sandbox.serve_forever()


if __name__ == "__main__":
    main()
