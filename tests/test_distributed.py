"""Two train steps under MirroredStrategy on 2 CPU replicas equal two steps on one device.

This checks the loss scaling of ColorizationGAN.train_step (per-replica means divided by the
number of replicas, gradients summed across replicas) including the masked losses (pixel loss on
self pairs, class loss on labelled photos), whose masks differ between the replicas here. Every
example is trained in reference mode without simulated hints (loss.palette_share =
loss.auto_share = loss.hint_share = 0): the per-example mode and hint draws are random and the
replicas draw independently, so with other shares the two runs would see different inputs. Logical devices must be configured before TensorFlow initialises its
devices, so the comparison runs in a subprocess and the rest of the suite keeps its single CPU
device.

SGD, not Adam: Adam's first steps are close to lr * sign(gradient), which would hide a gradient
scaled by the wrong factor. Two steps: the second starts from weights the first moved, on both
players.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_COMPARE = textwrap.dedent(
    """
    import json
    import sys

    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    from training import config as config_lib, run

    # Every example in reference mode: no random mode draw in the step.
    config = config_lib.override(config_lib.preset("tiny"), ["loss.palette_share=0", "loss.auto_share=0",
                                                                   "loss.hint_share=0"])
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:64].astype(np.float32) / 64
    fields = [np.stack([np.sin(3 * x + i), np.cos(2 * y - i)], -1) * 0.4 for i in range(4)]
    batch = {
        "target_l": np.stack([(x + y - 1.0) * (0.9 - 0.1 * i) for i in range(4)])[..., None].astype(np.float32),
        "target_ab": np.stack(fields).astype(np.float32),
        "reference_l": rng.uniform(-0.8, 0.8, (4, 64, 64, 1)).astype(np.float32),
        "reference_ab": np.stack(fields[::-1]).astype(np.float32),
        # Replica 0 gets rows 0-1, replica 1 rows 2-3: different numbers of self pairs and labels.
        "label": np.array([0, 1, -1, 1], np.int32),
        "pair_kind": np.array([0, 0, 1, 0], np.int32),
    }

    def two_steps(strategy, initial, eager):
        # -> (trainable variable paths, their start values, their values after 2 steps, logs, all start weights)
        with strategy.scope():
            model = run.build_model(config, num_classes=2)
            if initial is not None:
                model.set_weights(initial)
            start = model.get_weights()
            sgd = lambda: keras.optimizers.SGD(0.1)
            model.compile(g_optimizer=sgd(), d_optimizer=sgd(), loss_weights=config.loss, run_eagerly=eager)
        data = tf.data.Dataset.from_tensors(batch).repeat()
        logs = model.fit(data, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False).history
        position = {id(v): i for i, v in enumerate(model.weights)}  # get_weights() order
        trainable = model.generator.trainable_variables + model.discriminator.trainable_variables
        names = ["generator/" + v.path for v in model.generator.trainable_variables]
        names += ["discriminator/" + v.path for v in model.discriminator.trainable_variables]
        after = [v.numpy() for v in trainable]
        return names, [start[position[id(v)]] for v in trainable], after, logs, start

    keras.utils.set_random_seed(0)
    # The single-device reference runs eagerly. The mirrored run too with argv[1] == "eager":
    # tracing the step costs more CPU on 2 cores than two eager steps, and strategy.run, the
    # replica contexts and the all-reduce of the gradients are the same; "traced" runs it inside
    # a tf.function, as real training does.
    names, start, single, single_logs, initial = two_steps(tf.distribute.get_strategy(), None, eager=True)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    multi_names, _, multi, multi_logs, _ = two_steps(mirrored, initial, eager=sys.argv[1] == "eager")
    assert multi_names == names
    report = {
        "replicas": mirrored.num_replicas_in_sync,
        "names": names,
        "update": [float(np.abs(s - a).max()) for s, a in zip(single, start)],
        "diff": [float(np.abs(m - s).max()) for m, s in zip(multi, single)],
        "single_logs": single_logs,
        "multi_logs": multi_logs,
    }
    print("REPORT " + json.dumps(report))
    """
)


def _compare(mode):
    env = dict(os.environ, PYTHONPATH=REPO)
    done = subprocess.run([sys.executable, "-c", _COMPARE, mode], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("REPORT "))
    report = json.loads(line[len("REPORT ") :])
    assert report["replicas"] == 2

    names, update, diff = report["names"], np.array(report["update"]), np.array(report["diff"])
    moved = update > 1e-6
    # Both players moved, nearly all of the ColorNet's variables included.
    assert any(n.startswith("discriminator/") for n in np.array(names)[moved])
    generator = np.array([n.startswith("generator/") for n in names])
    assert generator.sum() > 50 and moved[generator].mean() > 0.9, moved[generator].mean()
    # Each variable ends where the single-device run put it, to float32 rounding of the sums; a
    # wrong loss scale (say, by the replica count) would be off by a sizeable share of the update.
    tolerance = 1e-3 * update + 1e-6
    worst = int(np.argmax(diff - tolerance))
    assert np.all(diff <= tolerance), (names[worst], diff[worst], update[worst])
    for name, values in report["single_logs"].items():
        np.testing.assert_allclose(report["multi_logs"][name], values, rtol=1e-4, atol=1e-6, err_msg=name)


def test_mirrored_two_replicas_match_one_device():
    _compare("eager")


@pytest.mark.skipif(not os.environ.get("EXEMPLAR_SLOW_TESTS"), reason="~40 s on 2 cores; EXEMPLAR_SLOW_TESTS=1 runs it")
def test_mirrored_two_replicas_match_one_device_traced():
    _compare("traced")  # the mirrored run as real training runs it: inside a tf.function
