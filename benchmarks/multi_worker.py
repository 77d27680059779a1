"""Training speed of one process against a cluster of worker processes started on this machine.

For each entry of --workers: 1 runs one plain process (the default strategy); N > 1 starts N worker
processes on loopback with TF_CONFIG (MultiWorkerMirroredStrategy, as on N machines, the gradients
all-reduced over gRPC), each training on its share of the same GLOBAL batch. Every process builds
the data, model and optimizers as ``exemplar train`` does (training.run), then runs one fit() of a
warm-up step (tf.function tracing) and --steps timed steps; steps/s and images/s (global batch x
steps / seconds) are the chief's, between the ends of the first and the last step. On one machine
the workers share its cores, so this measures the cost of the cluster machinery, not a speed-up.

    python benchmarks/multi_worker.py [FOLDER] [--cache DIR] [--preset cpu] [--workers 1,2]
                                      [--steps 30] [--set key=value ...] [--json FILE]

FOLDER (photos; default ../shared/data/train) is read when no --cache is given. The load average
is printed before and after each measurement: other jobs on the machine slow every figure.
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package

from training.local_cluster import loopback_tf_configs  # noqa: E402
from train_throughput import DEFAULT_FOLDER, load_training_data, timed_fit  # noqa: E402  (same steps, same timing)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="image folder (sub-folders = classes)")
    parser.add_argument("--cache", default=None, help="feature cache (python -m data_prep cache FOLDER DIR): what the cpu preset trains from")
    parser.add_argument("--preset", default="cpu", help="training preset (tiny, cpu, gpu, places365)")
    parser.add_argument("--workers", default="1,2", help="comma-separated process counts to measure, e.g. 1,2")
    parser.add_argument("--steps", type=int, default=30, help="timed training steps after the warm-up step")
    parser.add_argument("--set", dest="assignments", action="append", default=[], help="config override key=value")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one process of a measurement
    return parser.parse_args(argv)


def worker(args):
    """One process: train --steps + 1 steps; print RESULT {json} (TF_CONFIG, if set, names the cluster)."""
    from exemplar.core.quiet_tensorflow import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras

    from training import config as config_lib
    from training import run

    overrides = ["data.source=folder", f"data.data_dir={args.folder}"] + args.assignments
    if args.cache:
        overrides.append(f"data.cache_dir={args.cache}")
    config = config_lib.override(config_lib.preset(args.preset), overrides)
    config_lib.check(config)
    keras.utils.set_random_seed(config.train.seed)
    strategy = run.make_strategy(config.train.strategy)  # before any other TensorFlow op (collectives)
    start = time.perf_counter()
    train_ds, num_classes = load_training_data(config)
    with strategy.scope():
        model = run.compile_model(run.build_model(config, num_classes), config)
    build_seconds = time.perf_counter() - start

    history, warmup_seconds, train_seconds = timed_fit(model, train_ds, args.steps)
    batch = config.train.batch_size
    result = {
        "preset": config.preset,
        "features": "cached" if config.data.cache_dir else "encoder in the loop",
        "image_size": config.data.image_size,
        "global_batch": batch,
        "replicas": strategy.num_replicas_in_sync,
        "batch_per_replica": batch // strategy.num_replicas_in_sync,
        "build_s": round(build_seconds, 1),
        "warmup_step_s": round(warmup_seconds, 1),
        "steps": args.steps,
        "s_per_step": round(train_seconds / args.steps, 3),
        "steps_per_s": round(args.steps / train_seconds, 3),
        "images_per_s": round(args.steps * batch / train_seconds, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0),
        "chief": strategy.extended.should_checkpoint,
        "last_losses": {key: round(values[-1], 4) for key, values in history.items()},
    }
    print("RESULT " + json.dumps(result), flush=True)


def measure(args, argv, workers, folder):
    """Run one measurement with ``workers`` processes; return the chief's result plus the cluster's."""
    tf_configs = loopback_tf_configs(workers)
    processes, logs = [], []
    load_before = os.getloadavg()
    for index in range(workers):
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        env.pop("TF_CONFIG", None)
        if workers > 1:
            env["TF_CONFIG"] = tf_configs[index]
        log = pathlib.Path(folder) / f"workers{workers}_{index}.log"
        logs.append(log)
        with open(log, "w") as file:
            command = [sys.executable, str(pathlib.Path(__file__).resolve()), *argv, "--worker"]
            processes.append(subprocess.Popen(command, env=env, stdout=file, stderr=subprocess.STDOUT))
    codes = [p.wait() for p in processes]
    results = []
    for code, log in zip(codes, logs):
        lines = [line for line in log.read_text().splitlines() if line.startswith("RESULT ")]
        if code != 0 or not lines:
            sys.exit(f"a worker failed (exit {code}); its output:\n" + log.read_text()[-4000:])
        results.append(json.loads(lines[-1][len("RESULT ") :]))
    chief = next(r for r in results if r["chief"])
    return dict(chief, processes=workers, peak_rss_mib=[r["peak_rss_mib"] for r in results],
                load_before=[round(x, 2) for x in load_before], load_after=[round(x, 2) for x in os.getloadavg()])


def main():
    argv = sys.argv[1:]
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="multi_worker_bench_") as folder:
        for workers in (int(n) for n in args.workers.split(",")):
            print(f"measuring {workers} process(es), load average {os.getloadavg()[0]:.2f} ...", flush=True)
            rows.append(measure(args, argv, workers, folder))
    print(f"\ncpu cores: {os.cpu_count()}; preset {rows[0]['preset']}, {rows[0]['features']}, "
          f"{rows[0]['image_size']} px, global batch {rows[0]['global_batch']}, {args.steps} timed steps\n")
    print("| processes | batch per process | warm-up step s | s/step | steps/s | images/s | peak RSS MiB per process | load avg 1 min before / after |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['processes']} | {row['batch_per_replica']} | {row['warmup_step_s']} | {row['s_per_step']} | "
              f"{row['steps_per_s']} | {row['images_per_s']} | {', '.join(map(str, row['peak_rss_mib']))} | "
              f"{row['load_before'][0]} / {row['load_after'][0]} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
