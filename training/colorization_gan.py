"""The GAN training loop of the distribution network (keras-io "GAN overriding train_step" style).

One step, on a batch of cached features (data_prep.cached_pairs) or of images (data_prep.make_dataset,
encoded here by the frozen encoder: same numbers, slower):
  mode per example      reference (share 1 - palette - auto), palette, automatic: reference_mask,
                        hist_mask and the conditioning histogram (reference's, or a few top bins of
                        the target's own histogram standing in for a palette, or none)
  hints                 a ColorNet with the hint input gets simulated clicks of the truth's colour on a
                        share of the examples, in every mode (training.hint_simulation)
  color_net             ColorNet -> prior logits, warped reference distribution, gate (B, h, w, .)
  probs                 color_net.mix: gate * reference + (1 - gate) * softmax(prior)  (B, h, w, Q)
  ab                    annealed mean of probs at ``train_temperature``, /110         (B, h, w, 2)
  generator loss        ce * class-rebalanced cross-entropy(probs, soft-encoded truth)
                        + l1 * smooth-L1(ab, truth) on self pairs in reference mode (every
                          example with l1_all: the regression ablation)
                        + hist * chi2(hist(ab), conditioning histogram) where one is given
                        + adv * hinge G + cls * class cross-entropy + tv * total variation(ab)
  discriminator loss    hinge D on [L, ab] at 1/4 (truth vs output)
Everything is at 1/4 of the crop: the ColorNet predicts there, and the discriminator is cheap there.

Loss scaling under tf.distribute (MirroredStrategy / MultiWorkerMirroredStrategy): every loss is a MEAN
over the local batch (masked terms count masked rows as zero, never divide by a per-replica count)
and is divided by the replica count before differentiation, so R replicas step like one device.
"""

import keras
import tensorflow as tf

from exemplar.model.ab_bins import DEFAULT_TEMPERATURE, AbBins
from exemplar.core.color import AB_SCALE
from exemplar.model.color_net import mix
from exemplar.model.soft_ab_histogram import SoftAbHistogram
from exemplar.model.soft_encoding import SoftEncoding
from training import losses
from training.hint_simulation import simulate_hints
from training.keras_compat import SkipSymbolicBuildWhenBuilt, is_multi_worker

LOSS_NAMES = ("ce", "l1", "adv_g", "d", "hist", "cls", "tv", "gate", "total")
WEIGHT_KEYS = ("ce", "l1", "adv", "hist", "cls", "tv")
FEATURE_KEYS = ("target_s4", "target_s8", "target_s16", "target_s32", "reference_s8", "reference_s16", "reference_s32")


@keras.saving.register_keras_serializable(package="exemplar")
class ColorizationGAN(SkipSymbolicBuildWhenBuilt, keras.Model):
    """Trains ``color_net`` (ColorNet) against ``discriminator`` (PatchDiscriminator on 1/4-size Lab).

    class_weights: (Q,) rebalancing weights (AbBins.rebalancing_weights of the training colours).
    encoder: the frozen EfficientNetLite0, needed only for batches of images (no cache).
    palette_share / auto_share: shares of examples trained as palette / automatic colorization.
    l1_all: smooth-L1 on every example (the regression ablation), not only self pairs.
    hints: keyword arguments of training.hint_simulation.simulate_hints (share, p, max_count,
    colourful), used when the ColorNet has the hint input; ``share`` is for reference examples and
    ``share_free`` (default: ``share``) for automatic and palette ones.

    Built in full before fit() (here and in compile), so fit() skips Keras's symbolic build, which
    fails under MultiWorkerMirroredStrategy (SkipSymbolicBuildWhenBuilt, training.keras_compat).
    """

    def __init__(self, color_net, discriminator, class_weights, encoder=None, hist_bins=21, palette_share=0.2,
                 auto_share=0.15, train_temperature=DEFAULT_TEMPERATURE, l1_all=False, hints=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = color_net  # the ColorNet in its GAN role; the name keys checkpoints (generator_*.weights.h5) and backups
        self.discriminator = discriminator
        self.encoder = encoder
        self.hist_bins = hist_bins
        self.palette_share = palette_share
        self.auto_share = auto_share
        self.train_temperature = train_temperature
        self.l1_all = l1_all
        self.hints = dict(hints or {})
        self.takes_hints = "hint_ab4" in color_net.input
        self.bins = AbBins()
        self.class_weights = tf.constant(class_weights, tf.float32)  # (Q,), a constant of the run
        self.histogram = SoftAbHistogram(bins=hist_bins, dtype="float32", name="histogram")
        self.histogram.build((None, None, None, 2))
        self.soft_encoding = SoftEncoding(dtype="float32", name="truth_q")
        self.soft_encoding.build((None, None, None, 3))
        self.trackers = [keras.metrics.Mean(name=name) for name in LOSS_NAMES]
        self.built = True

    @property
    def metrics(self):
        return self.trackers

    def compile(self, g_optimizer, d_optimizer, loss_weights, **kwargs):
        """g_optimizer: the ColorNet's variables; d_optimizer: the discriminator's. loss_weights: dict or
        LossConfig with ce, l1, adv, hist, cls, tv."""
        super().compile(optimizer=g_optimizer, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.loss_weights = {key: float(_get(loss_weights, key)) for key in WEIGHT_KEYS}
        g_optimizer.build(self.generator.trainable_variables)  # slots now: BackupAndRestore finds them on restart
        d_optimizer.build(self.discriminator.trainable_variables)

    # ---------------------------------------------------------------- inputs

    def features(self, batch):
        """A batch of cached features passes through; a batch of images is encoded here."""
        if "target_s4" in batch:
            return batch
        target_lab = tf.concat([tf.cast(batch["target_l"], "float32"), tf.cast(batch["target_ab"], "float32")], -1)
        reference_lab = tf.concat([tf.cast(batch["reference_l"], "float32"), tf.cast(batch["reference_ab"], "float32")], -1)
        out = {key: batch[key] for key in ("label", "pair_kind") if key in batch}
        for prefix, lab in (("target", target_lab), ("reference", reference_lab)):
            grey = tf.repeat((lab[..., :1] + 1.0) * 127.5, 3, axis=-1)  # L/100 * 255, the encoder's input
            features = self.encoder(grey, training=False)
            for level in ("s4", "s8", "s16", "s32"):
                out[f"{prefix}_{level}"] = tf.stop_gradient(features[level.replace("s", "stride")])
            out[f"{prefix}_lab4"] = tf.nn.avg_pool2d(lab, 4, 4, "VALID")  # (B, S/4, S/4, 3)
        return out

    def color_net_inputs(self, batch, training=False):
        """Features batch -> (ColorNet input dict, reference_mask (B,), hist_mask (B,)).

        training: draw each example's mode; otherwise every example uses its reference.
        """
        target_lab4 = tf.cast(batch["target_lab4"], "float32")  # (B, h, w, 3) normalised Lab
        reference_lab4 = tf.cast(batch["reference_lab4"], "float32")
        size = tf.shape(target_lab4)[0]
        draw = tf.random.uniform((size,)) if training else tf.ones((size,))
        auto = tf.cast(draw < self.auto_share, "float32")
        palette = tf.cast(draw < self.auto_share + self.palette_share, "float32") - auto
        reference_mask = 1.0 - auto - palette  # (B,)
        hist_mask = 1.0 - auto
        reference_hist = self.histogram(reference_lab4[..., 1:])  # (B, bins^2)
        palette_hist = _top_bins(self.histogram(target_lab4[..., 1:]), size)
        hist = reference_hist * reference_mask[:, None] + palette_hist * palette[:, None]
        inputs = {key: batch[key] for key in FEATURE_KEYS}
        inputs.update(
            target_l4=target_lab4[..., :1],
            reference_lab4=reference_lab4,
            reference_hist=hist,
            reference_mask=reference_mask[:, None],
            hist_mask=hist_mask[:, None],
        )
        if self.takes_hints:
            if training:
                hints = dict(self.hints)
                share = hints.pop("share", 0.3)
                free = hints.pop("share_free", share)
                # (B,): a reference already shows colours (the truth's own for self pairs), so examples
                # without one are where a hint teaches the network to spread a click.
                hints["share"] = reference_mask * share + (1.0 - reference_mask) * free
                inputs["hint_ab4"], inputs["hint_mask4"] = simulate_hints(target_lab4[..., 1:], **hints)
            else:  # evaluation and sample sheets: no hints, the common use
                inputs["hint_ab4"] = tf.zeros_like(target_lab4[..., 1:])
                inputs["hint_mask4"] = tf.zeros_like(target_lab4[..., :1])
        return inputs, reference_mask, hist_mask

    def call(self, batch, training=False):
        inputs, _, _ = self.color_net_inputs(self.features(batch))
        return self.generator(inputs, training=training)

    # ---------------------------------------------------------------- steps

    def train_step(self, data):
        batch = self.features(data)
        inputs, reference_mask, hist_mask = self.color_net_inputs(batch, training=True)
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        g_variables = self.generator.trainable_variables
        d_variables = self.discriminator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            outputs = self.generator(inputs, training=True)
            values, d_loss = self._compute_losses(batch, inputs, outputs, reference_mask, hist_mask, training=True)
            g_scaled = self.g_optimizer.scale_loss(values["total"] / replicas)  # mean_local / R
            d_scaled = self.d_optimizer.scale_loss(d_loss / replicas)
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_scaled, g_variables), g_variables))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_variables), d_variables))
        return self._track(values, d_loss)

    def test_step(self, data):
        batch = self.features(data)
        inputs, reference_mask, hist_mask = self.color_net_inputs(batch, training=False)
        outputs = self.generator(inputs, training=False)
        values, d_loss = self._compute_losses(batch, inputs, outputs, reference_mask, hist_mask, training=False)
        return self._track(values, d_loss)

    def _compute_losses(self, batch, inputs, outputs, reference_mask, hist_mask, training):
        truth = tf.cast(batch["target_lab4"], "float32")  # (B, h, w, 3) normalised Lab
        truth_q = self.soft_encoding(truth)  # (B, h, w, Q), rows sum to 1
        probs = mix(outputs)  # (B, h, w, Q)
        # Rebalanced cross-entropy (Zhang et al. eq. 2): weight of each pixel's most likely true bin.
        pixel_weight = tf.gather(self.class_weights, tf.argmax(truth_q, axis=-1))  # (B, h, w)
        ce = -tf.reduce_sum(truth_q * tf.math.log(probs + 1e-8), axis=-1)  # (B, h, w)
        values = {"ce": tf.reduce_mean(pixel_weight * ce)}
        ab = self.bins.annealed_mean(probs, self.train_temperature) / AB_SCALE  # (B, h, w, 2) ab/110
        truth_ab = truth[..., 1:]
        self_pair = tf.cast(tf.equal(tf.cast(batch["pair_kind"], "int32"), 0), "float32") * reference_mask  # (B,)
        mask = tf.ones_like(self_pair)[:, None, None, None] if self.l1_all else self_pair[:, None, None, None]
        values["l1"] = losses.smooth_l1(truth_ab * mask, ab * mask)
        chi2 = losses.chi2_rows(self.histogram(ab), inputs["reference_hist"])  # (B,)
        values["hist"] = tf.reduce_mean(chi2 * hist_mask)
        values["tv"] = losses.tv_loss(ab)
        real = tf.cast(self.discriminator(tf.concat([truth[..., :1], truth_ab], -1), training=training), "float32")
        fake = tf.cast(self.discriminator(tf.concat([truth[..., :1], ab], -1), training=training), "float32")
        values["adv_g"] = losses.hinge_g_loss(fake)
        if "class_logits" in outputs:
            labels = tf.reshape(tf.cast(batch["label"], "int32"), (-1,))
            labelled = tf.reduce_sum(tf.cast(labels >= 0, "float32"))
            share = tf.maximum(labelled, 1.0) / tf.cast(tf.size(labels), "float32")
            values["cls"] = losses.classification_loss(labels, tf.cast(outputs["class_logits"], "float32")) * share
        else:
            values["cls"] = tf.zeros((), "float32")
        # Not a loss: the mean gate over examples with a reference, to watch how far the ColorNet follows it.
        gate = tf.reduce_mean(tf.cast(outputs["gate"], "float32"), axis=(1, 2, 3))
        values["gate"] = tf.reduce_sum(gate) / tf.maximum(tf.reduce_sum(reference_mask), 1.0)
        w = self.loss_weights
        values["total"] = (
            w["ce"] * values["ce"] + w["l1"] * values["l1"] + w["adv"] * values["adv_g"] + w["hist"] * values["hist"]
            + w["cls"] * values["cls"] + w["tv"] * values["tv"]
        )
        return values, losses.hinge_d_loss(real, fake)

    def _track(self, values, d_loss):
        values = dict(values, d=d_loss)
        for tracker in self.trackers:
            tracker.update_state(values[tracker.name])
        results = {tracker.name: tracker.result() for tracker in self.trackers}
        if is_multi_worker(tf.distribute.get_strategy()):
            # Keras (3.15) averages the logs over the workers with strategy.reduce("MEAN", axis=0),
            # which fails on scalars: give it shape (1,) and it returns the scalar mean.
            results = {name: tf.reshape(value, (1,)) for name, value in results.items()}
        return results


def _top_bins(hist, size, low=3, high=8):
    """(B, n) histograms -> each keeps only its k largest bins (k drawn in [low, high]), renormalised.

    A palette is a few colours; the target's own top bins make one that the truth agrees with.
    """
    k = tf.random.uniform((size,), low, high + 1, dtype=tf.int32)
    ranked = tf.sort(hist, axis=-1, direction="DESCENDING")
    threshold = tf.gather(ranked, k - 1, batch_dims=1)[:, None]  # (B, 1): the k-th largest value
    kept = tf.where(hist >= threshold, hist, 0.0)
    return kept / (tf.reduce_sum(kept, -1, keepdims=True) + 1e-8)


def _get(weights, key):
    return weights[key] if isinstance(weights, dict) else getattr(weights, key)
