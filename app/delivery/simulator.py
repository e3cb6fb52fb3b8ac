"""Run the Telnyx v2 simulator: `python -m app.delivery.simulator --port 8025 --webhook-url URL`.

With `--smtp-port N` the same process runs an SMTP sink on that port and lists the mail it
received at http://127.0.0.1:<port>/mail (app.delivery.simmail).

`python -m app.delivery.simulator public-key --private-key-file PATH` prints the base64 public
key to set as TELNYX_PUBLIC_KEY (creating the key file first if needed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from app.delivery.simmail import MailSink
from app.delivery.simserver import Simulator
from app.security.signatures import public_key_b64

__all__ = ["Simulator", "load_or_create_key", "main"]

DEFAULT_KEY_FILE = ".var/dev/simulator_ed25519.key"


def load_or_create_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load an Ed25519 private key (PEM or base64 raw seed), creating a 0600 file if missing."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            # O_EXCL: two processes starting together must not both write different keys.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return key
    data = path.read_bytes().strip()
    if data.startswith(b"-----BEGIN"):
        key = load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 key")
        return key
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(data))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m app.delivery.simulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8025)
    p.add_argument(
        "--webhook-url",
        default=os.environ.get("SIM_WEBHOOK_URL", ""),
        help="where events go when a message has no webhook_url of its own",
    )
    p.add_argument("--private-key-file", default=DEFAULT_KEY_FILE)
    p.add_argument("--webhook-delay-ms", type=float, default=50)
    p.add_argument("--no-webhooks", action="store_true", help="accept messages, post nothing")
    p.add_argument("--webhook-timeout", type=float, default=2.0, help="seconds to wait for a 2xx (Telnyx waits 2)")
    p.add_argument("--webhook-attempts", type=int, default=3)
    p.add_argument("--webhook-retry-delay", type=float, default=1.0)
    p.add_argument("--webhook-concurrency", type=int, default=64)
    p.add_argument(
        "--hang-seconds",
        type=float,
        default=15.0,
        help="how long the 'timeout' fault hangs before dropping the connection",
    )
    p.add_argument(
        "--reply-rate", type=float, default=0.0, help="fraction of delivered messages whose recipient texts back"
    )
    p.add_argument("--reply-text", default="Amen! See you Sunday.")
    p.add_argument("--smtp-port", type=int, default=0, help="also run an SMTP sink on this port (listed at /mail)")
    p.add_argument(
        "--pco-people", type=int, default=120, help="people the fake Planning Center (under /pco) starts with"
    )
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    return p


async def _serve(sim: Simulator) -> None:
    await sim.startup()
    if sim.mail_sink is not None:
        await sim.mail_sink.serve()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(f"Telnyx simulator: TELNYX_API_BASE={sim.api_base}", flush=True)
    print(f"  TELNYX_PUBLIC_KEY={sim.public_key_b64}", flush=True)
    target = sim.webhook_url if sim.webhooks else "(disabled)"
    print(f"  webhooks -> {target or '(none: per-message webhook_url only)'}", flush=True)
    print(f"  Planning Center: PCO_API_BASE={sim.pco_api_base} ({len(sim.pco.people)} people)", flush=True)
    if sim.mail_sink is not None:
        print(f"  SMTP sink: SMTP_URL={sim.mail_sink.url}, mail listed at {sim.url}/mail", flush=True)
    try:
        await stop.wait()
    finally:
        if sim.mail_sink is not None:
            await sim.mail_sink.close()
        await sim.shutdown()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["public-key"]:
        p = argparse.ArgumentParser(prog="python -m app.delivery.simulator public-key")
        p.add_argument("--private-key-file", default=DEFAULT_KEY_FILE)
        args = p.parse_args(argv[1:])
        print(public_key_b64(load_or_create_key(args.private_key_file)))
        return 0
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    sim = Simulator(
        args.host,
        args.port,
        args.webhook_url,
        load_or_create_key(args.private_key_file),
        webhooks=not args.no_webhooks,
        webhook_delay_ms=args.webhook_delay_ms,
        webhook_timeout=args.webhook_timeout,
        webhook_attempts=args.webhook_attempts,
        webhook_retry_delay=args.webhook_retry_delay,
        webhook_concurrency=args.webhook_concurrency,
        hang_seconds=args.hang_seconds,
        reply_rate=args.reply_rate,
        reply_text=args.reply_text,
    )
    sim.pco.seed(args.pco_people)
    if args.smtp_port:
        sim.mail_sink = MailSink(args.host, args.smtp_port)
    asyncio.run(_serve(sim))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
