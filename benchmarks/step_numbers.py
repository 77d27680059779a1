"""One training step's numbers, to check that a speed change leaves them alone.

Saves the ColorNet outputs, every loss and the gradients of every ColorNet and discriminator variable
for one fixed cached batch, fixed head inputs (modes and hints drawn once, kept in BATCH_FILE) and fixed
weights (a generator .weights.h5, the discriminator's seed-0 weights plus a fixed perturbation), then
compares two such files. Run it once per checkout (--code: the checkout to import, default this one),
one process each. Both get this checkout's runtime settings (training/cpu_runtime.py; TF_* variables in
the environment win), so a comparison isolates the code; compare runtimes by setting TF_* variables:

    python benchmarks/step_numbers.py save OLD.npz --cache DIR --init-weights W.weights.h5 [--code OLD_CHECKOUT]
    python benchmarks/step_numbers.py save NEW.npz --cache DIR --init-weights W.weights.h5
    python benchmarks/step_numbers.py compare OLD.npz NEW.npz

``--set key=value`` (repeatable) overrides the preset as ``exemplar train --set`` does, e.g. ``model.width=96``
for a width-96 checkpoint, or ``train.mixed_precision=true`` with ``train.precision=mixed_bfloat16`` to measure
what bfloat16 compute changes against float32 (the policy is set as ``exemplar train`` sets it; arrays are saved
as float32).

compare prints how many arrays are bitwise equal and the largest relative L2 differences.
"""

import argparse
import os
import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def save(args):
    import importlib.util

    # This checkout's runtime settings for either checkout, so that a comparison isolates the code.
    spec = importlib.util.spec_from_file_location("cpu_runtime", REPO_ROOT / "training" / "cpu_runtime.py")
    cpu_runtime = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpu_runtime)
    cpu_runtime.configure()
    sys.path.insert(0, str(pathlib.Path(args.code).resolve()))
    import keras
    import numpy as np
    import tensorflow as tf

    from data_prep.feature_cache import FeatureCache
    from training import config as config_lib
    from training import run

    config = config_lib.override(
        config_lib.preset(args.preset), ["data.source=folder", f"data.cache_dir={args.cache}"] + list(args.set)
    )
    if config.train.mixed_precision:  # as exemplar train sets it (inline: --code may name a checkout without run.apply_precision)
        keras.mixed_precision.set_global_policy(config.train.precision)
    keras.utils.set_random_seed(0)
    model = run.compile_model(run.build_model(config, len(FeatureCache(args.cache).class_names)), config)
    if args.init_weights:
        run._load_init_weights(model, args.init_weights)
    rng = np.random.default_rng(1)
    for variable in model.discriminator.trainable_variables:
        variable.assign(variable.numpy() + rng.normal(0, 0.02, variable.shape).astype(np.float32))
    if not os.path.exists(args.batch_file):
        train_ds, _ = run.load_cached_data(config, 0)
        batch = next(iter(train_ds))
        tf.random.set_seed(5)
        inputs, reference_mask, hist_mask = model.color_net_inputs(batch, training=True)
        np.savez(args.batch_file, **{f"b_{k}": v.numpy() for k, v in batch.items()},
                 **{f"i_{k}": v.numpy() for k, v in inputs.items()},
                 reference_mask=reference_mask.numpy(), hist_mask=hist_mask.numpy())
    saved = np.load(args.batch_file)
    batch = {k[2:]: tf.constant(saved[k]) for k in saved.files if k.startswith("b_")}
    inputs = {k[2:]: tf.constant(saved[k]) for k in saved.files if k.startswith("i_")}
    reference_mask, hist_mask = tf.constant(saved["reference_mask"]), tf.constant(saved["hist_mask"])
    g_variables, d_variables = model.generator.trainable_variables, model.discriminator.trainable_variables

    @tf.function
    def step(batch, inputs):  # ColorizationGAN.train_step before the optimizers
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            outputs = model.generator(inputs, training=True)
            values, d_loss = model._compute_losses(batch, inputs, outputs, reference_mask, hist_mask, training=True)
        return outputs, values, d_loss, g_tape.gradient(values["total"], g_variables), d_tape.gradient(d_loss, d_variables)

    outputs, values, d_loss, g_grads, d_grads = step(batch, inputs)
    as_f32 = lambda t: np.asarray(tf.cast(t, tf.float32))  # noqa: E731 (bfloat16 compute saved comparably)
    out = {f"out_{k}": as_f32(v) for k, v in outputs.items()}
    out.update({f"loss_{k}": as_f32(v) for k, v in values.items()}, loss_d=as_f32(d_loss))
    out.update({f"gradG_{v.path}": as_f32(g) for v, g in zip(g_variables, g_grads)})
    out.update({f"gradD_{v.path}": as_f32(g) for v, g in zip(d_variables, d_grads)})
    out["variable_counts"] = np.array([len(model.variables), len(g_variables), len(d_variables)])
    assert run.__file__.startswith(str(pathlib.Path(args.code).resolve())), run.__file__
    np.savez(args.out, **out)
    print(f"{args.out}: {len(out)} arrays; losses", {k: round(float(v), 6) for k, v in values.items()})


def compare(args):
    import numpy as np

    a, b = np.load(args.first), np.load(args.second)
    if sorted(a.files) != sorted(b.files):
        sys.exit(f"different arrays: {sorted(set(a.files) ^ set(b.files))}")
    equal = sum(a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a.files)
    print(f"{equal}/{len(a.files)} arrays bitwise equal")
    rows = []
    for k in a.files:
        x, y = a[k].astype(np.float64), b[k].astype(np.float64)
        rows.append((np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30), np.max(np.abs(x - y)), np.max(np.abs(x)), k))
    for rel, diff, size, k in sorted(rows, reverse=True)[: args.show]:
        print(f"  {k:60s} relative L2 {rel:.2e}  max |diff| {diff:.2e}  max |value| {size:.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save", help="compute one step's numbers and save them")
    s.add_argument("out")
    s.add_argument("--cache", required=True, help="feature cache (the batch is drawn from it once)")
    s.add_argument("--init-weights", default=None, help="generator .weights.h5 (default: seed-0 initial weights)")
    s.add_argument("--preset", default="cpu")
    s.add_argument("--code", default=str(REPO_ROOT), help="checkout to import (default: this one)")
    s.add_argument("--batch-file", default="step_numbers_batch.npz", help="fixed batch and head inputs (made once)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    c = sub.add_parser("compare", help="compare two saved files")
    c.add_argument("first")
    c.add_argument("second")
    c.add_argument("--show", type=int, default=8, help="largest differences to list")
    args = parser.parse_args()
    save(args) if args.command == "save" else compare(args)


if __name__ == "__main__":
    main()
