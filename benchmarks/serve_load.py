"""Load check for ``exemplar serve``: N clients at once on loopback, each a whole user session.

Starts ``python -m exemplar serve`` as a child process on a free loopback port, then:
1. one client alone (upload photo, upload reference, queue the job, poll, download): the server's
   peak memory for one job;
2. N clients released together by a barrier, each doing the same with its own photo.
Every download is checked (the photo's size, L equal to the input's within 8-bit rounding). Prints
how many requests were answered, done, failed and lost, latencies, and the server's resident
memory (VmRSS sampled every 50 ms, and the kernel's high-water mark VmHWM) after each phase: with
one worker running jobs one at a time, N clients should cost about what one does.

    python benchmarks/serve_load.py                      # 20 clients, --method net, 1024x768 photos
    python benchmarks/serve_load.py --method match --clients 20 --width 640 --height 480

Only 127.0.0.1 is contacted; every loop is bounded in count and time, and the server is stopped
at the end.
"""

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from exemplar.core.color import rgb_to_lab
from exemplar.core.image_io import read_image, write_image


def photo(height, width, seed):
    """A smooth synthetic colour photo (gradients and patches), different for each seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / width, y / height, 0.5 + 0.4 * np.sin(x / (20 + seed) + y / 31)], -1)
    for _ in range(6):
        top, left = rng.integers(0, height * 3 // 4), rng.integers(0, width * 3 // 4)
        rgb[top : top + height // 5, left : left + width // 5] = rng.uniform(0.1, 0.9, 3)
    return np.clip(rgb, 0, 1).astype(np.float32)


def call(url, data=None, content_type="application/octet-stream", timeout=600):
    """-> (status, body bytes); HTTP errors are answers too."""
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def session(base, target, reference, deadline):
    """One user: upload, queue, poll, download, check. -> dict with outcome and seconds."""
    start = time.monotonic()
    status, body = call(f"{base}/api/uploads?role=target&name={target.name}", target.read_bytes())
    if status != 200:
        return {"outcome": f"upload {status}: {body[:200]!r}", "seconds": time.monotonic() - start}
    target_id = json.loads(body)["id"]
    status, body = call(f"{base}/api/uploads?role=reference&name={reference.name}", reference.read_bytes())
    if status != 200:
        return {"outcome": f"reference {status}", "seconds": time.monotonic() - start}
    spec = {"target": target_id, "references": [json.loads(body)["id"]]}
    status, body = call(f"{base}/api/jobs", json.dumps(spec).encode(), "application/json")
    if status != 202:
        return {"outcome": f"job {status}: {body[:200]!r}", "seconds": time.monotonic() - start}
    job = json.loads(body)
    while job["state"] in ("queued", "running"):
        if time.monotonic() > deadline:
            return {"outcome": "lost (no answer before the deadline)", "seconds": time.monotonic() - start}
        time.sleep(0.2)
        status, body = call(f"{base}/api/jobs?ids={job['id']}")
        found = json.loads(body)["jobs"] if status == 200 else []
        if not found:
            return {"outcome": "lost (the server forgot the job)", "seconds": time.monotonic() - start}
        job = found[0]
    if job["state"] != "done":
        return {"outcome": f"failed: {job['message']}", "seconds": time.monotonic() - start}
    status, png = call(f"{base}/api/jobs/{job['id']}/result")
    seconds = time.monotonic() - start
    with tempfile.NamedTemporaryFile(suffix=".png") as tmp:
        tmp.write(png)
        tmp.flush()
        result, source = read_image(tmp.name), read_image(target)
    if result.rgb.shape != source.rgb.shape:
        return {"outcome": f"wrong size {result.rgb.shape}", "seconds": seconds}
    l_error = float(np.abs(rgb_to_lab(result.rgb)[..., 0] - rgb_to_lab(source.rgb)[..., 0]).max())
    return {"outcome": "done" if l_error < 0.6 else f"L differs by {l_error:.2f}", "seconds": seconds,
            "server_seconds": job["seconds"]}


def memory(pid):
    """-> (VmRSS, VmHWM) of the process in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20, help="concurrent users in phase 2")
    parser.add_argument("--method", default="net", choices=["match", "net"])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--timeout", type=float, default=900, help="seconds the whole check may take")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="serve_load_"))
    targets = []
    for i in range(args.clients + 1):
        targets.append(folder / f"photo{i:02d}.png")
        write_image(targets[-1], photo(args.height, args.width, i).mean(axis=2))
    reference = folder / "reference.jpg"
    write_image(reference, photo(args.height, args.width, 99))

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "exemplar", "serve", "--port", str(port), "--method", args.method,
                               "--max-waiting", str(max(32, args.clients))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + args.timeout
    try:
        while True:  # until the models are loaded
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("the server did not start")
            try:
                if json.loads(call(f"{base}/api/config", timeout=5)[1])["ready"]:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        idle = memory(server.pid)[0]
        print(f"server ready ({args.method}); RSS {idle:.0f} MB; photos {args.width}x{args.height}")

        one = session(base, targets[-1], reference, deadline)
        rss_one, hwm_one = memory(server.pid)
        print(f"1 client: {one['outcome']} in {one['seconds']:.2f} s; RSS {rss_one:.0f} MB, peak (VmHWM) {hwm_one:.0f} MB")

        samples, stop = [], threading.Event()

        def sample():
            while not stop.wait(0.05):
                samples.append(memory(server.pid)[0])

        results = [None] * args.clients
        barrier = threading.Barrier(args.clients)

        def client(i):
            barrier.wait()
            try:
                results[i] = session(base, targets[i], reference, deadline)
            except OSError as error:
                results[i] = {"outcome": f"connection error: {error}", "seconds": None}

        monitor = threading.Thread(target=sample, daemon=True)
        monitor.start()
        start = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(1.0, deadline - time.monotonic()))
        wall = time.monotonic() - start
        stop.set()
        rss_many, hwm_many = memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    answered = [r for r in results if r is not None]
    done = [r for r in answered if r["outcome"] == "done"]
    seconds = sorted(r["seconds"] for r in done)
    print(f"{args.clients} clients at once: {len(answered)} answered, {len(done)} done, "
          f"{len(answered) - len(done)} failed, {args.clients - len(answered)} lost; {wall:.1f} s for all")
    for r in answered:
        if r["outcome"] != "done":
            print("  ", r["outcome"])
    if seconds:
        server_seconds = statistics.median(r["server_seconds"] for r in done)
        print(f"client latency (upload to download): median {statistics.median(seconds):.2f} s, "
              f"max {seconds[-1]:.2f} s; server time per job, median {server_seconds:.2f} s")
    print(f"server RSS: idle {idle:.0f} MB, peak sampled during the burst {max(samples, default=rss_many):.0f} MB, "
          f"VmHWM after 1 client {hwm_one:.0f} MB, after {args.clients} {hwm_many:.0f} MB")
    sys.exit(0 if len(done) == args.clients else 1)


if __name__ == "__main__":
    main()
