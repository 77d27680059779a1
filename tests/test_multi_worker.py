"""Two worker processes on loopback (TF_CONFIG, MultiWorkerMirroredStrategy), as on two machines.

- Two steps of the two-worker cluster equal two steps of a single process on the same GLOBAL
  batches (the second starts from weights the first moved): the real photo pipeline
  (training.run.load_data, sharded by element: each worker takes half of every batch), the tiny
  preset's model, SGD (Adam's first steps are close to lr * sign(gradient), which would hide a
  gradient scaled by the wrong factor), every example in reference mode (the per-example mode draw
  is random and the replicas draw independently).
- A training run (`python -m training`, the tiny preset on generated photos): only the chief writes
  the run folder; the other worker writes its checkpoints and backup to a temporary folder of its
  own. It kills itself (SIGKILL) in epoch 2, after the backup of the first step of that epoch; the
  chief, left waiting in the next step's collective, stops with an error (no hang). Restarted with a
  worker given another run folder, both refuse to start; the same command (`python -m training
  --run-dir RUN`) restarted on both resumes from the chief's backup and trains only the step left.

Every file write of a worker (Python's audit hooks: open for writing, rename, mkdir, copy, remove)
is reported by it; HDF5 files are written under temporary names and renamed, so they are counted.
Eager steps (train.run_eagerly): tracing the step costs ~15 s of CPU per process on 2 cores; a traced
two-worker run is what benchmarks/multi_worker.py times.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from training.local_cluster import loopback_tf_configs
from training.resumable_backup import ResumableBackup

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_WORKER = textwrap.dedent(
    """
    import atexit, json, os, signal, sys

    mode, run_dir = sys.argv[1], os.path.realpath(sys.argv[2])
    writes = []  # (event, path) of every write inside run_dir or in training.run's temporary folders

    def audit(event, args):
        if event == "open":
            path, mode_, flags = args
            if isinstance(mode_, str):
                writing = any(c in mode_ for c in "wax+")
            else:  # os.open
                writing = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            paths = [path] if writing else []
        elif event in ("os.rename", "shutil.copyfile"):
            paths = [args[1]]
        elif event in ("os.mkdir", "os.remove", "os.rmdir", "shutil.rmtree"):
            paths = [args[0]]
        else:
            return
        for path in paths:
            if isinstance(path, (str, bytes, os.PathLike)):
                path = os.path.realpath(os.fsdecode(path))
                if path.startswith((run_dir + os.sep, os.path.join(os.environ["TMPDIR"], "exemplar_"))):
                    writes.append((event, path))

    sys.addaudithook(audit)

    def report():
        state = dict(pid=os.getpid(), writes=writes, steps=steps, iterations=iterations)
        print("REPORT " + json.dumps(state), flush=True)

    steps, iterations = [], []
    atexit.register(report)

    import tensorflow as tf

    if mode == "step":  # two SGD steps; TF_CONFIG set: the cluster, else one process
        cluster = os.environ.get("TF_CONFIG")
        strategy = tf.distribute.MultiWorkerMirroredStrategy() if cluster else tf.distribute.get_strategy()
        import keras
        import numpy as np
        from training import config as config_lib, run

        overrides = ["data.data_dir=" + sys.argv[3], "loss.palette_share=0", "loss.auto_share=0",
                     "loss.hint_share=0"]  # no random per-example draws: workers must match one process
        config = config_lib.override(config_lib.preset("tiny"), overrides)
        keras.utils.set_random_seed(0)
        train_ds, _, _, num_classes = run.load_data(config, seed=0)
        with strategy.scope():
            model = run.build_model(config, num_classes)
            sgd = lambda: keras.optimizers.SGD(0.1)
            model.compile(g_optimizer=sgd(), d_optimizer=sgd(), loss_weights=config.loss, run_eagerly=True)
        trainable = model.generator.trainable_variables + model.discriminator.trainable_variables
        start = [v.numpy() for v in trainable]
        logs = model.fit(train_ds, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False).history
        after = [v.numpy() for v in trainable]
        names = ["generator/" + v.path for v in model.generator.trainable_variables]
        names += ["discriminator/" + v.path for v in model.discriminator.trainable_variables]
        if strategy.extended.should_checkpoint:  # the chief (or the single process) saves
            np.savez(sys.argv[4], names=np.array(names), logs=json.dumps(logs),
                     **{f"start{i}": a for i, a in enumerate(start)}, **{f"after{i}": a for i, a in enumerate(after)})
        sys.exit(0)

    import keras
    from training import run

    class Steps(keras.callbacks.Callback):
        # Records (epoch, step) of every step this process trains; with --kill, kills it after epoch 2 step 1.
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            steps.append((self.epoch, batch))
            iterations[:] = [int(self.model.g_optimizer.iterations.numpy())]
            report()  # after every step: a process killed later has reported what it did
            if kill and (self.epoch, batch) == (1, 0):
                os.kill(os.getpid(), signal.SIGKILL)

    train = run.train  # the command below calls run.train: give it the Steps callback too
    run.train = lambda config, run_dir, *, callbacks=(), verbose="auto": train(
        config, run_dir, callbacks=[*callbacks, Steps()], verbose=verbose)
    from exemplar.cli.train import train as command

    kill = "--kill" in sys.argv
    command([a for a in sys.argv[3:] if a != "--kill"], prog_name="python -m training")  # exits as the command does
    """
)


class _Cluster:
    """Two worker processes of ``_WORKER`` (worker 0 is the chief) with TF_CONFIG on loopback."""

    def __init__(self, tmp_path, name, args, run_dir, extra=((), ())):
        self.tmp_path, self.name = tmp_path, name
        tf_configs = loopback_tf_configs(2)
        self.processes, self.logs = [], []
        for index in range(2):
            tmpdir = tmp_path / f"tmp_worker{index}"  # where this worker's temporary folders go
            tmpdir.mkdir(exist_ok=True)
            env = dict(os.environ, PYTHONPATH=REPO, TMPDIR=str(tmpdir.resolve()), TF_CPP_MIN_LOG_LEVEL="2",
                       TF_CONFIG=tf_configs[index])
            log = tmp_path / f"{name}_worker{index}.log"
            self.logs.append(log)
            command = [sys.executable, "-c", _WORKER, *args[:1], str(run_dir), *args[1:], *extra[index]]
            with open(log, "w") as file:  # a file, not a pipe: a full pipe would block the worker
                self.processes.append(subprocess.Popen(command, env=env, stdout=file, stderr=subprocess.STDOUT))

    def wait(self, timeout=240):
        """Exit codes of both workers; on a timeout both are killed and the test fails."""
        deadline = time.monotonic() + timeout
        try:
            return [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in self.processes]
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name}: the workers did not finish in {timeout} s\n" + self.output())

    def kill(self):
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()

    def output(self, index=None):
        logs = self.logs if index is None else [self.logs[index]]
        return "\n".join(f"--- {log.name}\n" + log.read_text()[-3000:] for log in logs)

    def reports(self):
        reports = []
        for index, log in enumerate(self.logs):
            lines = [line for line in log.read_text().splitlines() if line.startswith("REPORT ")]
            assert lines, f"{self.name}: worker {index} reported nothing\n" + self.output(index)
            reports.append(json.loads(lines[-1][len("REPORT ") :]))
        return reports


def test_two_workers_step_like_one_process_on_the_global_batches(tmp_path, write_class_photos):
    photos = tmp_path / "photos"
    write_class_photos(photos)
    cluster = _Cluster(tmp_path, "step", ["step", str(photos), str(tmp_path / "multi.npz")], tmp_path / "unused")
    single_env = dict(os.environ, PYTHONPATH=REPO, TMPDIR=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="2")
    single_env.pop("TF_CONFIG", None)
    command = [sys.executable, "-c", _WORKER, "step", str(tmp_path / "unused"), str(photos),
               str(tmp_path / "single.npz")]
    single = subprocess.run(command, env=single_env, capture_output=True, text=True, timeout=240)
    assert single.returncode == 0, single.stdout[-3000:] + single.stderr[-3000:]
    assert cluster.wait() == [0, 0], cluster.output()

    one, two = np.load(tmp_path / "single.npz"), np.load(tmp_path / "multi.npz")  # the chief's file
    names = list(one["names"])
    assert list(two["names"]) == names and sum(n.startswith("generator/") for n in names) > 50
    for i, name in enumerate(names):
        np.testing.assert_array_equal(two[f"start{i}"], one[f"start{i}"], err_msg=name)  # same initial weights
    update = np.array([np.abs(one[f"after{i}"] - one[f"start{i}"]).max() for i in range(len(names))])
    diff = np.array([np.abs(two[f"after{i}"] - one[f"after{i}"]).max() for i in range(len(names))])
    generator = np.array([n.startswith("generator/") for n in names])
    assert (update[generator] > 1e-6).mean() > 0.9 and (update[~generator] > 1e-6).mean() > 0.6  # both players moved
    # Each variable ends where the single process put it, to float32 rounding of the sums; a wrong
    # loss scale (say, by the worker count) or the wrong half of a batch would be off by a sizeable
    # share of the update (median update here ~1e-3).
    worst = int(np.argmax(diff))
    print(f"max |multi - single| {diff.max():.2e}; median update {np.median(update):.2e}")
    assert diff.max() <= 1e-5, (names[worst], diff[worst], update[worst])
    single_logs, multi_logs = json.loads(str(one["logs"])), json.loads(str(two["logs"]))
    for name, values in single_logs.items():  # the chief logs the means over both workers
        np.testing.assert_allclose(multi_logs[name], values, rtol=1e-4, atol=1e-6, err_msg=name)


def _rows(path):
    with open(path) as file:
        return list(csv.DictReader(file))


def _inside(report, folder):
    folder = str(Path(folder).resolve())
    return [(event, path) for event, path in report["writes"] if path.startswith(folder + os.sep)]


def test_only_the_chief_writes_and_a_killed_cluster_resumes_from_the_backup(tmp_path, write_class_photos):
    photos, run_dir = tmp_path / "photos", tmp_path / "run"
    write_class_photos(photos)
    # 2 epochs x 2 steps, a backup after every step (the tiny preset's backup_every=1).
    args = ["cli", "--preset", "tiny", "--data", str(photos), "--run-dir", str(run_dir), "--steps-per-epoch", "2",
            "--set", "train.run_eagerly=true"]
    first = _Cluster(tmp_path, "killed", args, run_dir, extra=((), ("--kill",)))
    try:
        # Worker 1 kills itself after epoch 2, step 1. The chief, waiting for it in the next step's
        # collective, is told by TensorFlow's coordination service (missed heartbeats, ~10 s) and stops.
        assert first.processes[1].wait(timeout=240) == -signal.SIGKILL, first.output()
        assert first.processes[0].wait(timeout=120) == 1, first.output()
    finally:
        first.kill()  # on a failure: no worker left behind
    assert "tasks are unhealthy" in first.logs[0].read_text(), first.output(0)
    assert ResumableBackup.resume_point(run_dir / "backup") == (1, 1)  # epoch 2, 1 step done
    first_chief, worker = first.reports()
    assert first_chief["steps"] == worker["steps"] == [[0, 0], [0, 1], [1, 0]]
    assert not _inside(worker, run_dir), _inside(worker, run_dir)  # the other worker wrote nothing in RUN
    assert any(p.endswith("backup/latest.weights.h5") for _, p in _inside(worker, tmp_path / "tmp_worker1"))
    first_rows = _rows(run_dir / "log.csv")
    assert [row["epoch"] for row in first_rows] == ["0"]
    first_checkpoint = run_dir / "checkpoints" / "generator_epoch001.weights.h5"
    first_mtime = os.path.getmtime(first_checkpoint)

    # A worker that cannot see the chief's run folder (here: another --run-dir; on a cluster: no shared
    # file system) would resume from elsewhere and leave the others waiting: every worker refuses.
    other = ["--run-dir", str(tmp_path / "elsewhere"), "--preset", "tiny", "--data", str(photos)]
    apart = _Cluster(tmp_path, "apart", ["cli", "--run-dir", str(run_dir)], run_dir, extra=((), other))
    assert apart.wait() == [1, 1], apart.output()
    for log in apart.logs:
        assert "found different backups to resume from (none, epoch 2 step 1)" in log.read_text()
    assert ResumableBackup.resume_point(run_dir / "backup") == (1, 1)

    # The same command again, on both workers: it resumes (the run's own config.json, the chief's backup).
    second = _Cluster(tmp_path, "resumed", ["cli", "--run-dir", str(run_dir)], run_dir)
    assert second.wait() == [0, 0], second.output()
    chief, worker = second.reports()
    for index, report in enumerate((chief, worker)):
        assert "resuming the interrupted run" in second.logs[index].read_text()
        assert report["steps"] == [[1, 0]]  # only the step that was left (the short fit of epoch 2)...
        assert report["iterations"] == [4]  # ...on top of the 3 steps restored from the backup
    assert not _inside(worker, run_dir), _inside(worker, run_dir)
    scratch = [p for _, p in _inside(worker, tmp_path / "tmp_worker1")]
    assert any("/checkpoints/generator_epoch002" in p for p in scratch)  # its own copies, elsewhere...
    folder = Path(scratch[0]).relative_to((tmp_path / "tmp_worker1").resolve()).parts[0]
    assert folder.startswith("exemplar_worker_1_") and not (tmp_path / "tmp_worker1" / folder).exists()  # ...deleted
    # when it finished (the killed worker's folder stays: SIGKILL leaves no time to clean up)
    assert _inside(chief, run_dir)

    rows = _rows(run_dir / "log.csv")
    assert [row["epoch"] for row in rows] == ["0", "1"] and rows[0] == first_rows[0]
    assert os.path.getmtime(first_checkpoint) == first_mtime  # epoch 1 was not trained again
    assert not (run_dir / "backup").exists()  # finished: nothing left to resume
    names = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and "logs" not in p.parts)
    assert names == [
        "checkpoints/best.json",
        "checkpoints/generator_best.weights.h5",
        "checkpoints/generator_config.json",
        "checkpoints/generator_epoch001.weights.h5",
        "checkpoints/generator_epoch002.weights.h5",
        "checkpoints/generator_last.weights.h5",
        "config.json",
        "data_report.json",
        "log.csv",
        "samples/epoch_001.png",
        "samples/epoch_002.png",
    ]
    # TensorBoard event files (written by TensorFlow's C++, past the audit hooks) name their process.
    events = [p.name for p in (run_dir / "logs").rglob("events.out.tfevents.*")]
    chief_pids = (first_chief["pid"], chief["pid"])
    assert events and all(any(f".{pid}." in name for pid in chief_pids) for name in events), (events, chief_pids)
