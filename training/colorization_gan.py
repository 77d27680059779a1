"""The GAN training loop as a keras.Model (keras-io "GAN overriding train_step" style).

One step, on a batch from data_prep.make_dataset:
  reference histogram  = SoftAbHistogram(reference ab)                 (B, bins^2), rows sum to 1
  generator            = Gray2ColorNet(target L, reference L/ab/hist/mask) -> ab at 1, 1/2, 1/4
  discriminator        = PatchDiscriminator(concat(L, ab)) on truth and on output -> (B, h, w, 1)
  generator loss       = l1 * multi-scale smooth-L1   (self-augmented pairs only: pair_kind == 0)
                       + adv * hinge G loss + hist * chi2(hist(output), reference hist)
                       + cls * cross-entropy (labelled photos: label >= 0) + tv * total variation
  discriminator loss   = hinge D loss
Both players are updated from the same forward pass (as in the TensorFlow pix2pix tutorial), which
costs one generator and two discriminator passes per step instead of two and three.

The step uses tf.GradientTape (TensorFlow backend); the networks themselves are keras.ops only.

Loss scaling under tf.distribute (MirroredStrategy / MultiWorkerMirroredStrategy): each replica gets
B_local = B_global / R examples, and the Keras optimizer SUMS the replicas' gradients before applying
them. The training/losses functions return the MEAN over the local batch, so each loss is divided
by R before differentiation: mean_local / R = sum_local / B_global, the tf.nn.compute_average_loss
rule. Summed over replicas that is sum_global / B_global, the single-device mean, so one step on R
replicas equals one step on one device with the same global batch (tests/test_distributed.py
checks it). Masked losses (pixel loss on self-augmented pairs, class loss on labelled photos) are
averaged over ALL examples with the masked ones counting zero, never over the count of unmasked
ones: that count differs between replicas and would break the equality above.
"""

import keras
import tensorflow as tf

from exemplar.net.soft_ab_histogram import SoftAbHistogram
from training import losses

LOSS_NAMES = ("l1", "adv_g", "d", "hist", "cls", "tv", "total")


@keras.saving.register_keras_serializable(package="exemplar")
class ColorizationGAN(keras.Model):
    """Trains ``generator`` (Gray2ColorNet) against ``discriminator`` (PatchDiscriminator).

    Calling the model runs the generator only, on a generator input dict or on a data batch.
    ``palette_dropout``: share of training examples whose reference image is hidden
    (reference_mask 0), so that the histogram-only (palette) path learns too.
    """

    def __init__(self, generator, discriminator, hist_bins=21, palette_dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.hist_bins = hist_bins
        self.palette_dropout = palette_dropout
        # float32 whatever the global policy: a bin can hold up to H*W pixels (65536 at 256 px), past
        # float16's range, and the histogram loss compares small probabilities.
        self.histogram = SoftAbHistogram(bins=hist_bins, dtype="float32", name="histogram")
        self.histogram.build((None, None, None, 2))  # no weights; fit() checks that all layers are built
        self.trackers = [keras.metrics.Mean(name=name) for name in LOSS_NAMES]
        self.built = True  # generator and discriminator are functional models, built at construction

    @property
    def metrics(self):
        # Listed here so that Keras resets them at each epoch and reports them in the logs.
        return self.trackers

    def compile(self, g_optimizer, d_optimizer, loss_weights, encoder_optimizer=None, **kwargs):
        """Optimizers: generator (all generator variables, or all but the encoder's when an
        ``encoder_optimizer`` is given: a lower-lr optimizer for fine-tuning the encoder), and
        discriminator. ``loss_weights``: dict with keys l1, adv, hist, cls, tv (a LossConfig works too).
        Wrap optimizers in keras.optimizers.LossScaleOptimizer for mixed_float16 before passing them.
        """
        super().compile(optimizer=g_optimizer, **kwargs)  # model.optimizer: iterations for TensorBoard
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.encoder_optimizer = encoder_optimizer
        self.loss_weights = {key: float(_get(loss_weights, key)) for key in ("l1", "adv", "hist", "cls", "tv")}
        # Build the optimizers' slots now, on their own variable groups, so that BackupAndRestore
        # and load_weights find the same variables on a restart (a lazily built optimizer has none).
        for optimizer, variables in self._optimizer_groups():
            optimizer.build(variables)

    def call(self, inputs, training=False):
        """Generator outputs for a generator input dict, or for a data batch (histogram computed here)."""
        if "reference_hist" not in inputs:
            inputs = self.generator_inputs(inputs)
        return self.generator(inputs, training=training)

    def generator_inputs(self, batch, drop_reference=False):
        """Batch dict -> the generator's input dict, with the reference histogram computed here.

        drop_reference: hide the reference image (mask 0) for a random ``palette_dropout`` share.
        """
        reference_ab = tf.cast(batch["reference_ab"], "float32")  # (B, Hr, Wr, 2), ab/110
        batch_size = tf.shape(reference_ab)[0]
        mask = tf.ones((batch_size, 1), "float32")  # (B, 1): 1 = reference image given
        if drop_reference and self.palette_dropout > 0:
            mask = tf.cast(tf.random.uniform((batch_size, 1)) >= self.palette_dropout, "float32")
        return {
            "target_l": tf.convert_to_tensor(batch["target_l"]),  # (B, H, W, 1), L/50 - 1
            "reference_l": tf.convert_to_tensor(batch["reference_l"]),  # (B, Hr, Wr, 1)
            "reference_ab": tf.convert_to_tensor(batch["reference_ab"]),
            "reference_hist": self.histogram(reference_ab),  # (B, bins^2), rows sum to 1
            "reference_mask": mask,
        }

    def train_step(self, data):
        inputs = self.generator_inputs(data, drop_reference=True)
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        *g_groups, (d_optimizer, d_variables) = self._optimizer_groups()
        # With mixed_float16 each LossScaleOptimizer has its own loss scale: two of them on the
        # generator (fine-tuned encoder) need one backward pass each, hence a persistent tape.
        persistent = len(g_groups) > 1 and any(_scales_loss(optimizer) for optimizer, _ in g_groups)
        with tf.GradientTape(persistent=persistent) as g_tape, tf.GradientTape() as d_tape:
            outputs = self.generator(inputs, training=True)
            values, d_loss = self._compute_losses(data, inputs, outputs, training=True)
            # Divide by the replica count: mean over local batch / R = sum / global batch.
            # Loss scaling happens inside the tape too, or the tape would not see the product.
            g_scaled = [optimizer.scale_loss(values["total"] / replicas) for optimizer, _ in g_groups]
            d_scaled = d_optimizer.scale_loss(d_loss / replicas)
        if persistent:
            for (optimizer, variables), loss in zip(g_groups, g_scaled):
                optimizer.apply_gradients(zip(g_tape.gradient(loss, variables), variables))
            del g_tape
        else:  # one backward pass for all generator variables, split between its optimizers
            variables = [v for _, group in g_groups for v in group]
            _apply_split(g_groups, g_tape.gradient(g_scaled[0], variables))
        d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_variables), d_variables))
        return self._track(values, d_loss)

    def test_step(self, data):
        inputs = self.generator_inputs(data, drop_reference=False)
        outputs = self.generator(inputs, training=False)
        values, d_loss = self._compute_losses(data, inputs, outputs, training=False)
        return self._track(values, d_loss)

    def _compute_losses(self, data, inputs, outputs, training=False):
        """Loss values (each the mean over the local batch, float32) and the discriminator loss."""
        target_l = tf.cast(data["target_l"], "float32")  # (B, H, W, 1), L/50 - 1
        target_ab = tf.cast(data["target_ab"], "float32")  # (B, H, W, 2), ab/110
        ab = tf.cast(outputs["ab"], "float32")  # (B, H, W, 2), ab/110 in [-1, 1]
        real_logits = self.discriminator(tf.concat([target_l, target_ab], -1), training=training)
        fake_logits = self.discriminator(tf.concat([target_l, ab], -1), training=training)
        real_logits = tf.cast(real_logits, "float32")  # (B, h, w, 1)
        fake_logits = tf.cast(fake_logits, "float32")

        # Pixel loss on self-augmented pairs only: zeroing both sides of other examples makes their
        # smooth-L1 exactly 0 while the mean still divides by the full batch (see module docstring).
        self_pair = tf.cast(tf.equal(tf.cast(data["pair_kind"], "int32"), 0), "float32")  # (B,)
        mask = tf.reshape(self_pair, (-1, 1, 1, 1))
        scales = {key: tf.cast(value, "float32") * mask for key, value in outputs.items() if key.startswith("ab")}
        values = {"l1": losses.multiscale_smooth_l1(target_ab * mask, scales)}
        values["adv_g"] = losses.hinge_g_loss(fake_logits)
        values["hist"] = losses.histogram_loss(self.histogram(ab), inputs["reference_hist"])
        values["tv"] = losses.tv_loss(ab)
        if "class_logits" in outputs:
            # classification_loss averages over the labelled rows; rescale it to an average over
            # all rows (unlabelled ones counting zero), as the module docstring requires.
            labels = tf.reshape(tf.cast(data["label"], "int32"), (-1,))  # (B,), -1 = no class
            labelled = tf.reduce_sum(tf.cast(labels >= 0, "float32"))
            share = tf.maximum(labelled, 1.0) / tf.cast(tf.size(labels), "float32")
            logits = tf.cast(outputs["class_logits"], "float32")  # (B, num_classes)
            values["cls"] = losses.classification_loss(labels, logits) * share
        else:
            values["cls"] = tf.zeros((), "float32")
        weights = self.loss_weights
        values["total"] = (
            weights["l1"] * values["l1"]
            + weights["adv"] * values["adv_g"]
            + weights["hist"] * values["hist"]
            + weights["cls"] * values["cls"]
            + weights["tv"] * values["tv"]
        )
        return values, losses.hinge_d_loss(real_logits, fake_logits)

    def _track(self, values, d_loss):
        values = dict(values, d=d_loss)
        for tracker in self.trackers:
            tracker.update_state(values[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def _optimizer_groups(self):
        """[(optimizer, variables)]: generator (minus encoder), encoder if separate, discriminator last."""
        generator_variables = self.generator.trainable_variables
        groups = []
        if self.encoder_optimizer is not None:
            encoder_ids = {id(v) for v in self.generator.encoder.trainable_variables}
            groups.append((self.g_optimizer, [v for v in generator_variables if id(v) not in encoder_ids]))
            groups.append((self.encoder_optimizer, self.generator.encoder.trainable_variables))
        else:
            groups.append((self.g_optimizer, generator_variables))
        groups.append((self.d_optimizer, self.discriminator.trainable_variables))
        return groups

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "hist_bins": self.hist_bins,
                "palette_dropout": self.palette_dropout,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


def _get(weights, key):
    return weights[key] if isinstance(weights, dict) else getattr(weights, key)


def _scales_loss(optimizer):
    return isinstance(optimizer, keras.optimizers.LossScaleOptimizer) or optimizer.loss_scale_factor is not None


def _apply_split(groups, gradients):
    """Apply one flat gradient list (in group order) with each group's optimizer."""
    start = 0
    for optimizer, variables in groups:
        optimizer.apply_gradients(zip(gradients[start : start + len(variables)], variables))
        start += len(variables)
