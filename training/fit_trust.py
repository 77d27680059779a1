"""Fit a model folder's ReferenceTrust head (how far to follow the reference) on photo pairs.

    python -m training.fit_trust MODEL_DIR --data PHOTOS [--self-data PHOTOS] [--same-class 800] [--self 400]

The generator stays frozen. For each pair it is run once at the working size; per 1/8 cell we keep
the trust head's input (matching features, similarities, their image mean) and the sums that the
squared error of ``gain * ab + offset`` against the truth needs (see :func:`cell_statistics`), so
the fit itself runs on cells in seconds per epoch instead of re-running the generator.

Pairs: ``--same-class`` photos each with another photo of its class (the case the head is for),
and ``--self`` photos with their own colours mirrored and cropped (the case it must leave alone).
Each pair's sums are divided by the raw generator's error on it, so the fit maximises the mean
of log-error over photos (mean PSNR), not a pixel MSE dominated by the worst pairs.
Writes MODEL_DIR/trust.npz and trust.json (fit figures in "info").
"""

import json
import random
from pathlib import Path

import click
import numpy as np

STATS = ("n", "p_a", "p_b", "t_a", "t_b", "pp", "pt", "tt")  # per-cell sums, ab/110 units


def cell_statistics(ab, truth, cell=8):
    """ab, truth (H, W, 2) ab/110 with H, W multiples of ``cell`` -> (H/cell * W/cell, 8) sums.

    Per cell: pixel count, sum of p, sum of t, sum |p|^2, sum p.t, sum |t|^2. With these the cell's
    summed squared error of ``g * p + m`` against t is exact (see :func:`trust_loss`).
    """
    h, w = ab.shape[:2]
    blocks = lambda x: x.reshape(h // cell, cell, w // cell, cell, -1).sum(axis=(1, 3)).reshape(-1, x.shape[-1])
    p, t = ab.astype(np.float64), truth.astype(np.float64)
    parts = [np.ones((h, w, 1)), p, t, (p * p).sum(-1, keepdims=True), (p * t).sum(-1, keepdims=True),
             (t * t).sum(-1, keepdims=True)]
    return np.concatenate([blocks(x) for x in parts], axis=-1).astype(np.float32)  # (cells, 8)


def trust_loss(params, stats):
    """Mean squared ab/110 error per pixel of gain * p + offset, from head outputs (N, 4) and sums (N, 8).

    sum |t - g p - m|^2 = g^2 pp - 2 g pt + 2 g m.P - 2 m.T + n |m|^2 + tt over a cell's pixels.
    """
    from keras import ops

    from exemplar.net.reference_trust import gain_offset

    gain, offset = gain_offset(params)  # (N, 1), (N, 2)
    n, p_sum, t_sum = stats[:, :1], stats[:, 1:3], stats[:, 3:5]
    pp, pt, tt = stats[:, 5:6], stats[:, 6:7], stats[:, 7:8]
    error = (gain * gain * pp - 2.0 * gain * pt + 2.0 * gain * ops.sum(offset * p_sum, -1, keepdims=True)
             - 2.0 * ops.sum(offset * t_sum, -1, keepdims=True) + n * ops.sum(offset * offset, -1, keepdims=True) + tt)
    return ops.sum(error) / ops.sum(n)


def sample_pairs(root, same_class, self_pairs, seed=0, self_root=None):
    """-> [(target path, reference path or None)]: same-class pairs from labelled photos under
    ``root``, self pairs from all photos under ``self_root`` (default ``root``), shuffled."""
    from data_prep.sources import image_folder

    records, _ = image_folder(root)
    self_records = records if self_root is None else image_folder(self_root).records
    rng = random.Random(seed)
    by_class = {}
    for path, label in records:
        if label >= 0:
            by_class.setdefault(label, []).append(path)
    classes = sorted(c for c, paths in by_class.items() if len(paths) >= 2)
    if same_class and not classes:
        raise click.ClickException(f"{root}: no class folder with two photos, so no same-class pairs")
    pairs = [tuple(rng.sample(by_class[classes[i % len(classes)]], 2)) for i in range(same_class)]
    pairs += [(path, None) for path, _ in rng.sample(self_records, min(self_pairs, len(self_records)))]
    rng.shuffle(pairs)
    return pairs


def collect(colorizer, pairs, seed=0, log=print):
    """Run the frozen generator on each pair -> descriptors (cells, F + k + 1), weighted sums
    (cells, 8), and each pair's mean top-1 similarity (pairs,)."""
    import cv2

    from exemplar.color import AB_SCALE, rgb_to_lab
    from exemplar.colorizer import resize_short_side
    from exemplar.evaluation import read_rgb, self_reference
    from exemplar.net.reference_trust import CellDescriptor

    rng = np.random.default_rng(seed)
    describe = CellDescriptor()
    net = colorizer.method
    descriptors, sums, means = [], [], []
    for i, (target, reference) in enumerate(pairs):
        truth = read_rgb(target)  # (H, W, 3) sRGB in [0, 1]
        if reference is None:  # own colours, mirrored, a random 75-95% centre crop: the same scene
            reference = self_reference(truth, crop=rng.uniform(0.75, 0.95))
        lab = rgb_to_lab(resize_short_side(truth, colorizer.size))  # (h, w, 3) working size
        inputs = net.network_inputs(lab[..., 0], [colorizer.reference_lab(reference)])
        parts = net.parts(inputs, training=False)
        ab = np.asarray(parts["ab"])[0]  # (h32, w32, 2) ab/110
        truth_ab = cv2.resize(lab[..., 1:], ab.shape[1::-1], interpolation=cv2.INTER_AREA) / AB_SCALE
        stats = cell_statistics(ab, truth_ab)
        # Divide by the raw generator's MSE on this pair: a photo counts by its relative error.
        mse = (stats[:, 5] - 2 * stats[:, 6] + stats[:, 7]).sum() / stats[:, 0].sum()
        sums.append(stats / max(mse, 1e-4))
        cells = describe(parts["features8"], parts["similarities8"])  # (1, h8, w8, F + k + 1)
        descriptors.append(np.asarray(cells).reshape(-1, cells.shape[-1]))
        means.append(float(descriptors[-1][0, -1]))
        if (i + 1) % 100 == 0:
            log(f"{i + 1}/{len(pairs)} pairs")
    return np.concatenate(descriptors), np.concatenate(sums), np.array(means, np.float32)


def gate_between(self_means, other_means):
    """(centre, width) of the image gate from the mean similarities of self and other pairs.

    Between the others' 95th percentile and the self pairs' 5th, a quarter of the way from the
    others: when unsure, follow the reference (altering a faithful copy costs more than following
    a similar photo). Width: an eighth of that gap, at least 0.01 (also when they overlap).
    """
    low, high = float(np.quantile(other_means, 0.95)), float(np.quantile(self_means, 0.05))
    return low + (high - low) / 4.0, max((high - low) / 8.0, 0.01)


def fit(trust, descriptors, sums, epochs=30, learning_rate=1e-3, batch_size=4096, seed=0, log=print):
    """Adam on ``trust.cell_model`` with :func:`trust_loss`; returns the loss per epoch."""
    import keras
    import tensorflow as tf

    optimizer = keras.optimizers.Adam(learning_rate)
    model = trust.cell_model
    # Order: shuffle all cells once per epoch (cells of one photo are correlated), batch, prefetch.
    data = (tf.data.Dataset.from_tensor_slices((descriptors, sums))
            .shuffle(len(descriptors), seed=seed).batch(batch_size).prefetch(2))

    @tf.function
    def step(x, s):
        with tf.GradientTape() as tape:
            loss = trust_loss(model(x, training=True), s)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    history = []
    for epoch in range(epochs):
        losses = [float(step(x, s)) for x, s in data]
        history.append(float(np.mean(losses)))
        log(f"epoch {epoch + 1}/{epochs}: loss {history[-1]:.4f}")
    return history


@click.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False),
              help="Photo folder; its class sub-folders give the same-class pairs.")
@click.option("--self-data", type=click.Path(exists=True, file_okay=False),
              help="Photo folder for the self pairs (default: --data).")
@click.option("--same-class", default=800, show_default=True, type=click.IntRange(min=1),
              help="Number of same-class pairs.")
@click.option("--self", "self_pairs", default=400, show_default=True, type=click.IntRange(min=1),
              help="Number of photos used as their own reference (both kinds are needed to place the image gate).")
@click.option("--size", default=256, show_default=True, help="Working short side, as `exemplar colorize --size`.")
@click.option("--epochs", default=30, show_default=True, help="Passes over the collected cells.")
@click.option("--hidden", default=64, show_default=True, help="Width of the trust head's hidden layer.")
@click.option("--lr", default=1e-3, show_default=True, help="Adam learning rate.")
@click.option("--vividness", default=1.0, show_default=True, type=click.FloatRange(0.0, 3.0),
              help="Scale of the learned region colours at inference (above 1: less pale; see ReferenceTrust).")
@click.option("--seed", default=0, show_default=True, help="Seed for pair sampling, crops and shuffling.")
@click.option("--cache", type=click.Path(dir_okay=False),
              help="An .npz of the collected cells: written after collecting, read instead of collecting if it exists "
                   "(refit with other --epochs/--hidden/--lr/--vividness in seconds; same pairs and model only).")
def main(model_dir, data, self_data, same_class, self_pairs, size, epochs, hidden, lr, vividness, seed, cache):
    """Fit MODEL_DIR's trust head on pairs from --data; writes MODEL_DIR/trust.npz and trust.json."""
    import time

    import keras

    from exemplar.colorizer import Colorizer
    from exemplar.generator_weights import save_trust
    from exemplar.net.reference_trust import ReferenceTrust

    start = time.time()
    colorizer = Colorizer("net", size=size, weights=model_dir, follow_reference=True)
    pairs = sample_pairs(data, same_class, self_pairs, seed, self_root=self_data)
    is_self = np.array([reference is None for _, reference in pairs])
    if cache and Path(cache).is_file():
        with np.load(cache) as cached:
            descriptors, sums, means = cached["descriptors"], cached["sums"], cached["means"]
        if len(means) != len(pairs):
            raise click.ClickException(f"{cache}: holds {len(means)} pairs, not {len(pairs)}; delete it to collect again")
        click.echo(f"{len(descriptors)} cells of {len(pairs)} pairs from {cache}")
    else:
        click.echo(f"{len(pairs)} pairs from {data}")
        descriptors, sums, means = collect(colorizer, pairs, seed, log=click.echo)
        if cache:
            np.savez(cache, descriptors=descriptors, sums=sums, means=means)
    gate_centre, gate_width = gate_between(means[is_self], means[~is_self])
    collected = time.time() - start
    model = colorizer.method.model
    keras.utils.set_random_seed(seed)  # the hidden layer's initial weights
    trust = ReferenceTrust(feature_dim=model.get_layer("target_match8").output.shape[-1], top_k=model.top_k,
                           hidden=hidden, vividness=vividness, gate_centre=gate_centre, gate_width=gate_width)
    history = fit(trust, descriptors, sums, epochs=epochs, learning_rate=lr, seed=seed, log=click.echo)
    info = {"data": str(data), "self_data": str(self_data or data), "same_class_pairs": same_class, "self_pairs": self_pairs, "size": size, "vividness": vividness, "gate_centre": round(gate_centre, 4), "gate_width": round(gate_width, 4),
            "mean_similarity": {kind: [round(float(np.quantile(m, q)), 3) for q in (0.05, 0.5, 0.95)]
                                for kind, m in (("self", means[is_self]), ("same_class", means[~is_self]))},
            "vividness": vividness, "gate_centre": round(gate_centre, 4), "gate_width": round(gate_width, 4),
            "mean_similarity": {kind: [round(float(np.quantile(m, q)), 3) for q in (0.05, 0.5, 0.95)]
                                for kind, m in (("self", means[is_self]), ("same_class", means[~is_self]))}, "epochs": epochs, "lr": lr, "seed": seed, "cells": int(len(descriptors)),
            "loss_by_epoch": [round(v, 5) for v in history],
            "seconds": {"collect": round(collected), "total": round(time.time() - start)}}
    save_trust(trust, model_dir, info=info)
    click.echo(json.dumps({k: v for k, v in info.items() if k != "loss_by_epoch"}))
    click.echo(f"wrote {Path(model_dir) / 'trust.npz'}")


if __name__ == "__main__":
    main()
