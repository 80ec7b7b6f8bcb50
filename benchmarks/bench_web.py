"""Load test of the self-check endpoint: N concurrent clients for S seconds on 127.0.0.1.

    python benchmarks/bench_web.py [--clients 20] [--seconds 60]

Starts ``xltool serve`` in a subprocess on a free port with a throwaway data folder (the
self-check rate limit raised so the load is not refused), then each client posts the shipped
example to ``POST /api/selfcheck`` in a loop and checks that the answer is 200 with the
example's findings (13). Prints throughput, latency percentiles and the failed requests; exit
status 1 when any request failed. Bounded: it stops after --seconds, whatever happens.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "luosong_2023_filled.xlsx"
FINDINGS = 13  # the example's 9 must-fix and 4 needs-explanation findings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path) -> tuple[subprocess.Popen, str]:
    sys.path.insert(0, str(ROOT))
    from xltool.web.config import load_config, save_config

    cfg = load_config(data)
    cfg.selfcheck_per_minute = 1_000_000
    save_config(cfg)
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "xltool", "serve", "--port", str(port), "--data", str(data)],
                            cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def client(url: str, payload: bytes, until: float, latencies: list[float], failures: list[str]) -> None:
    import httpx

    with httpx.Client(base_url=url, timeout=60) as http:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                r = http.post("/api/selfcheck", files={"file": ("luosong_2023_filled.xlsx", payload)})
                elapsed = time.perf_counter() - started
                body = r.json() if r.status_code == 200 else {}
                if r.status_code != 200 or len((body.get("report") or {}).get("findings", [])) != FINDINGS:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                    continue
            except Exception as exc:  # a refused or dropped connection is a failed request
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(elapsed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    payload = EXAMPLE.read_bytes()
    with tempfile.TemporaryDirectory(prefix="xltool-bench-web-") as tmp:
        proc, url = start_server(Path(tmp) / "data")
        try:
            latencies: list[float] = []
            failures: list[str] = []
            until = time.monotonic() + args.seconds
            threads = [threading.Thread(target=client, args=(url, payload, until, latencies, failures))
                       for _ in range(args.clients)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=args.seconds + 120)
            wall = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    done = len(latencies)
    print(f"self-check load test: {args.clients} concurrent clients, {args.seconds:.0f} s, {os.cpu_count()} CPU cores")
    print(f"  requests answered: {done}  failed: {len(failures)}")
    if done:
        q = statistics.quantiles(latencies, n=100)
        print(f"  throughput: {done / wall:.1f} self-checks/s")
        print(f"  latency: median {statistics.median(latencies) * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
              f"p99 {q[98] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    for failure in failures[:5]:
        print(f"  failure: {failure}")
    return 1 if failures or not done else 0


if __name__ == "__main__":
    raise SystemExit(main())
