"""Non-local correspondence: carry reference values to target positions by feature similarity.

This is the core shared by the training-free ``match`` method and the network's semantic
assignment (Deep Exemplar-based Colorization, He et al. 2018; Gray2ColorNet, Lu et al. 2020).
Written with ``keras.ops`` so it runs eagerly, inside a Keras model, and on any backend.
"""

import keras


def center_and_normalize(features):
    """(B, N, C) -> (B, N, C): subtract each image's per-channel mean, then L2-normalise.

    Centering removes the part of the features shared by every position of an image (global
    illumination, style), so cosine similarity reflects what differs between positions.
    """
    features = features - keras.ops.mean(features, axis=1, keepdims=True)
    return features / (keras.ops.sqrt(keras.ops.sum(features * features, axis=-1, keepdims=True)) + 1e-6)


def cosine_attention(query, key, value, temperature=0.01, top_k=4, key_mask=None):
    """Warp ``value`` from key positions to query positions.

    query: (B, Nq, C) target features; key: (B, Nk, C) reference features (any Nk: the
    reference is not tied to one size); value: (B, Nk, D), e.g. reference ab/110 in [-1, 1].
    value may also be a list of (B, Nk, D_i): each is warped by its own product and the results are
    concatenated, the same numbers as warping their concatenation; a training step then
    back-propagates only through the parts that need it (a product with a constant part is not
    differentiated at all, where one product with the concatenation would be in full).
    key_mask: optional (B, Nk) with 1 for real positions, 0 for padding.
    Returns warped (B, Nq, D) and the top-k cosine similarities (B, Nq, top_k) in [-1, 1],
    sorted descending: per-position statistics of the correlation, used as match confidence.
    """
    q = center_and_normalize(query)
    k = center_and_normalize(key)
    similarity = keras.ops.matmul(q, keras.ops.transpose(k, (0, 2, 1)))  # (B, Nq, Nk) in [-1, 1]
    if key_mask is not None:
        similarity = similarity - 4.0 * (1.0 - keras.ops.expand_dims(key_mask, 1))  # below any real value
    weights = keras.ops.softmax(similarity / temperature, axis=-1)  # (B, Nq, Nk), rows sum to 1
    if isinstance(value, (list, tuple)):
        warped = keras.ops.concatenate([keras.ops.matmul(weights, part) for part in value], axis=-1)
    else:
        warped = keras.ops.matmul(weights, value)  # (B, Nq, D)
    top, _ = keras.ops.top_k(similarity, k=top_k)  # (B, Nq, top_k)
    return warped, top
