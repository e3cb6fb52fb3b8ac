"""How many messages/s the Telnyx simulator takes from TelnyxClient (prints figures, asserts nothing).

    .venv/bin/python bench/simulator_throughput.py -n 20000 --threads 32 --processes 2

Runs the simulator as its own process (as `make dev` does), first with webhooks off, then
with webhooks on against a trivial sink process, and reports API messages/s, webhook
events/s and the simulator's CPU time per message.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.delivery.telnyx import TelnyxClient  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_sink(port: int) -> None:
    """A webhook receiver that answers 200 to everything, with keep-alive."""
    from app.delivery.simhttp import Response, serve_connection

    async def handler(_req: object) -> Response:
        return Response(200, b"{}")

    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: serve_connection(r, w, handler), "127.0.0.1", port, backlog=1024
        )
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def client_worker(api_base: str, start: int, count: int, threads: int, out: mp.Queue) -> None:
    """Send `count` messages to distinct numbers with a thread pool sharing one client."""
    client = TelnyxClient(api_base, "KEY_bench", max_connections=threads)
    text = "Sunday service moves to 10am this week. Reply STOP to opt out."

    def send(i: int) -> None:
        client.send("+13125550100", f"+1555{start + i:07d}", text)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(send, range(count)):
            pass
    out.put(time.perf_counter() - t0)
    client.close()


def run_round(args: argparse.Namespace, webhooks: bool) -> None:
    port = free_port()
    key_file = Path(tempfile.mkdtemp()) / "sim.key"
    cmd = [
        sys.executable,
        "-m",
        "app.delivery.simulator",
        "--port",
        str(port),
        "--private-key-file",
        str(key_file),
        "--log-level",
        "WARNING",
    ]
    sink = None
    if webhooks:
        sink_port = free_port()
        sink = mp.Process(target=run_sink, args=(sink_port,), daemon=True)
        sink.start()
        cmd += ["--webhook-url", f"http://127.0.0.1:{sink_port}/webhooks/telnyx"]
    else:
        cmd += ["--no-webhooks"]
    sim = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/_sim/health")
        cpu0 = cpu_seconds(sim.pid)
        out: mp.Queue = mp.Queue()
        per = args.n // args.processes
        workers = [
            mp.Process(target=client_worker, args=(f"{base}/v2", i * per, per, args.threads, out))
            for i in range(args.processes)
        ]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        api_wall = time.perf_counter() - t0
        total = per * args.processes
        label = "webhooks on " if webhooks else "webhooks off"
        print(
            f"{label}: {total} messages in {api_wall:.2f}s = {total / api_wall:,.0f} msg/s "
            f"({args.processes} client process(es) x {args.threads} threads)"
        )
        if webhooks:
            while True:
                stats = httpx.get(f"{base}/_sim/stats").json()
                if stats["webhooks"].get("pending", 0) == 0:
                    break
                time.sleep(0.05)
            drained = time.perf_counter() - t0
            wh = stats["webhooks"]
            print(
                f"  webhooks: {wh.get('delivered', 0)} delivered, {wh.get('failed', 0)} failed; "
                f"all done after {drained:.2f}s = {wh.get('delivered', 0) / drained:,.0f} events/s"
            )
        stats = httpx.get(f"{base}/_sim/stats").json()
        cpu = cpu_seconds(sim.pid) - cpu0
        print(
            f"  simulator: accepted {stats['accepted']}, duplicates {len(stats['duplicates'])}, "
            f"CPU {cpu:.2f}s = {1e6 * cpu / total:.0f} us/message"
        )
    finally:
        sim.terminate()
        sim.wait(10)
        if sink:
            sink.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--only", choices=["off", "on"], default=None)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}")
    if args.only in (None, "off"):
        run_round(args, webhooks=False)
    if args.only in (None, "on"):
        run_round(args, webhooks=True)


if __name__ == "__main__":
    main()
