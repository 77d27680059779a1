"""CIE Lab (D65) colour science, defined once for numpy/OpenCV and for TensorFlow.

Conventions used everywhere in exemplar:
- sRGB is float in [0, 1] (or uint8/uint16 at the I/O boundary only).
- Lab is float with L in [0, 100] and a, b roughly in [-110, 110] (OpenCV's float convention).
- Networks see normalised values: ``L/50 - 1`` in [-1, 1] and ``ab/110`` in about [-1, 1].

The numpy path uses OpenCV (fast, well tested); the TensorFlow path re-implements the same
formulas so that the tf.data pipeline and the training losses can run in-graph. Tests check the
two agree.
"""

import concurrent.futures
import functools

import numpy as np

# Normalisation constants: the only place they are defined.
L_CENTER = 50.0  # L/50 - 1 maps [0, 100] -> [-1, 1]
AB_SCALE = 110.0  # ab/110 maps the sRGB gamut (|a|,|b| <= ~108) into [-1, 1]

# D65 reference white (CIE 1931 2-degree observer), as OpenCV uses it.
_WHITE_D65 = (0.950456, 1.0, 1.088754)
# Linear sRGB -> XYZ (D65), rows X, Y, Z.
_RGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_XYZ_TO_RGB = np.linalg.inv(np.asarray(_RGB_TO_XYZ, np.float64)).astype(np.float32)  # rows R, G, B
_EPS = 0.008856  # (6/29)^3: where the Lab cube root becomes linear
_KAPPA = 903.3  # 116 * 7.787: slope of L in the linear part


# --------------------------------------------------------------------------- numpy / OpenCV


def rgb_to_lab(rgb):
    """(..., 3) sRGB float in [0, 1] -> Lab float32, L in [0, 100] (exact CIE formulas)."""
    linear = _srgb_to_linear_np(np.asarray(rgb, dtype=np.float32))
    xyz = (linear @ np.asarray(_RGB_TO_XYZ, np.float32).T) / np.asarray(_WHITE_D65, np.float32)
    f = np.where(xyz > _EPS, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    lab = np.empty_like(xyz)
    lab[..., 0] = _y_to_l_np(xyz[..., 1])
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_linear_rgb(lab):
    """(..., 3) Lab -> linear RGB float32, NOT clipped (values outside [0, 1] are out of gamut)."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 6.0 / 29.0, f**3, (f - 16.0 / 116.0) / 7.787) * np.asarray(_WHITE_D65, np.float32)
    return xyz @ _XYZ_TO_RGB.T


def lab_to_rgb(lab):
    """(..., 3) Lab float -> sRGB float32, clipped to [0, 1]."""
    return np.clip(_linear_to_srgb_np(np.clip(lab_to_linear_rgb(lab), 0.0, 1.0)), 0.0, 1.0)


def rgb_to_l(rgb):
    """(H, W, 3) sRGB float in [0, 1] -> (H, W) L in [0, 100], without computing a and b."""
    rgb = np.asarray(rgb, dtype=np.float32)
    linear = _srgb_to_linear_np(rgb)
    y = linear @ np.asarray(_RGB_TO_XYZ[1], np.float32)
    return _y_to_l_np(y)


def l_to_grey_rgb(l):
    """(H, W) L in [0, 100] -> (H, W) sRGB grey level in [0, 1] (a = b = 0)."""
    l = np.asarray(l, dtype=np.float32)
    fy = (l + 16.0) / 116.0
    y = np.where(l > _KAPPA * _EPS, fy**3, l / _KAPPA)
    return np.clip(_linear_to_srgb_np(y), 0.0, 1.0)


def normalize_l(l):
    """L in [0, 100] -> [-1, 1]."""
    return l / L_CENTER - 1.0


def normalize_ab(ab):
    """ab in about [-110, 110] -> about [-1, 1]."""
    return ab / AB_SCALE


def denormalize_l(l_norm):
    return (l_norm + 1.0) * L_CENTER


def denormalize_ab(ab_norm):
    return ab_norm * AB_SCALE


def chroma(lab):
    """Per-pixel chroma sqrt(a^2 + b^2) of a (..., 3) Lab array."""
    return np.hypot(lab[..., 1], lab[..., 2])


def _srgb_to_linear_np(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _linear_to_srgb_np(c):
    c = np.maximum(c, 0.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055).astype(np.float32)


def _y_to_l_np(y):
    return np.where(y > _EPS, 116.0 * np.cbrt(y) - 16.0, _KAPPA * y).astype(np.float32)


# --------------------------------------------------------------------------- TensorFlow


def tf_rgb_to_lab(rgb):
    """(..., 3) sRGB float in [0, 1] -> Lab float32 (L in [0, 100]); differentiable."""
    import tensorflow as tf

    rgb = tf.convert_to_tensor(rgb, tf.float32)
    linear = tf.where(rgb <= 0.04045, rgb / 12.92, tf.pow((tf.maximum(rgb, 0.04045) + 0.055) / 1.055, 2.4))
    # tensordot with the transposed matrix: 4x faster than linalg.matvec for (H, W, 3) images
    xyz = tf.tensordot(linear, tf.constant(np.transpose(_RGB_TO_XYZ), tf.float32), 1)  # (..., 3)
    xyz = xyz / tf.constant(_WHITE_D65, tf.float32)
    f = tf.where(xyz > _EPS, tf.pow(tf.maximum(xyz, _EPS), 1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = tf.unstack(f, axis=-1)
    y = xyz[..., 1]
    l = tf.where(y > _EPS, 116.0 * fy - 16.0, _KAPPA * y)
    return tf.stack([l, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def tf_lab_to_rgb(lab):
    """(..., 3) Lab -> sRGB float32 clipped to [0, 1]; differentiable inside the gamut."""
    import tensorflow as tf

    lab = tf.convert_to_tensor(lab, tf.float32)
    l, a, b = tf.unstack(lab, axis=-1)
    fy = (l + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    f = tf.stack([fx, fy, fz], axis=-1)
    delta = 6.0 / 29.0
    xyz = tf.where(f > delta, f**3, (f - 16.0 / 116.0) / 7.787)
    xyz = xyz * tf.constant(_WHITE_D65, tf.float32)
    xyz_to_rgb = np.linalg.inv(np.asarray(_RGB_TO_XYZ, np.float64)).T.astype(np.float32)
    linear = tf.tensordot(xyz, tf.constant(xyz_to_rgb), 1)
    linear = tf.clip_by_value(linear, 0.0, 1.0)
    srgb = tf.where(linear <= 0.0031308, 12.92 * linear, 1.055 * tf.pow(tf.maximum(linear, 0.0031308), 1 / 2.4) - 0.055)
    return tf.clip_by_value(srgb, 0.0, 1.0)


# --------------------------------------------------------------------------- full-resolution paths
# A 6000x4000 photo is 24 megapixels: pow() over 72M floats costs seconds, so the full-size paths
# use lookup tables and work in row strips on both cores (numpy releases the GIL).


@functools.lru_cache(maxsize=1)
def _srgb_to_linear_lut():
    """65536-entry table: sRGB value k/65535 -> linear. Exact for 8-bit (k = v*257) and 16-bit."""
    return _srgb_to_linear_np(np.arange(65536, dtype=np.float32) / 65535.0)


@functools.lru_cache(maxsize=1)
def _linear_to_srgb_lut():
    """65536-entry table: linear k/65535 -> sRGB; its error (< 1e-4 after the cube-root-like
    curve is sampled this finely) is far below one 8-bit step."""
    return _linear_to_srgb_np(np.arange(65536, dtype=np.float32) / 65535.0)


@functools.lru_cache(maxsize=1)
def _grey_to_l_lut():
    """65536-entry table: grey sRGB level k/65535 -> L (for R = G = B, Y is the linear level)."""
    return _y_to_l_np(_srgb_to_linear_lut())


def _strips(height, rows=256):
    return [slice(y, min(y + rows, height)) for y in range(0, height, rows)]


def _parallel(fn, height):
    strips = _strips(height)
    if len(strips) == 1:  # one strip (a 1/4-size map, a small photo): starting threads would cost more (~1 ms)
        fn(strips[0])
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fn, strips))


def rgb_to_l_fast(rgb):
    """(H, W, 3) sRGB float in [0, 1] that came from 8- or 16-bit data -> (H, W) L in [0, 100].

    Same values as :func:`rgb_to_l` (exact for 8/16-bit input) but uses a table and both cores.
    """
    lut = _srgb_to_linear_lut()
    weights = np.asarray(_RGB_TO_XYZ[1], np.float32)
    out = np.empty(rgb.shape[:2], np.float32)
    grey = np.array_equal(rgb[::97, ::89, 0], rgb[::97, ::89, 1]) and np.array_equal(rgb[..., 0], rgb[..., 1]) \
        and np.array_equal(rgb[..., 1], rgb[..., 2])

    def strip(s):
        if grey:  # black-and-white photos, the usual target: one channel, L straight from a table
            out[s] = _grey_to_l_lut()[np.rint(rgb[s, :, 0] * 65535.0).astype(np.uint16)]
            return
        index = np.rint(rgb[s] * 65535.0).astype(np.uint16)
        out[s] = _y_to_l_np(lut[index] @ weights)

    _parallel(strip, rgb.shape[0])
    return out


def _lab_to_linear_2d(l, ab):
    """(h, w) L and (h, w, 2) ab -> (h, w, 3) linear RGB, unclipped. Same maths as
    :func:`lab_to_linear_rgb`, per channel and with OpenCV's SIMD 3x3 transform (5x faster)."""
    import cv2

    white = np.asarray(_WHITE_D65, np.float32)

    def f_inverse(f):
        return np.where(f > 6.0 / 29.0, f * f * f, (f - 16.0 / 116.0) / 7.787)

    fy = (l + 16.0) / 116.0
    y = np.where(l > _KAPPA * _EPS, fy * fy * fy, l / _KAPPA)
    x = f_inverse(fy + ab[..., 0] / 500.0) * white[0]
    z = f_inverse(fy - ab[..., 1] / 200.0) * white[2]
    return cv2.transform(cv2.merge([x.astype(np.float32), y.astype(np.float32), z.astype(np.float32)]), _XYZ_TO_RGB)


def _out_of_gamut(linear):
    """(h, w, 3) linear RGB -> (h, w) bool: some channel outside [0, 1] (with a 1e-4 margin)."""
    import cv2

    return cv2.inRange(linear, (-1e-4,) * 3, (1.0 + 1e-4,) * 3) == 0


def lab_to_rgb_keep_l(l, ab, iterations=7):
    """Compose full-size L (H, W) and ab (H, W, 2) into sRGB float32 (H, W, 3) in [0, 1].

    Plain clipping of out-of-gamut colours changes their luminance; here the chroma of such
    pixels is scaled down (bisection on the ab scale factor, :func:`_fit_chroma`) until the colour
    fits, so converting the result back to Lab gives the input L (to within output quantisation).
    """
    lut = _linear_to_srgb_lut()
    out = np.empty(l.shape + (3,), np.float32)

    def strip(s):
        l_s, ab_s = l[s], ab[s].astype(np.float32)
        linear = _lab_to_linear_2d(l_s, ab_s)
        rows, cols, _, fitted_linear = _fit_chroma(l_s, ab_s, linear, iterations)
        if rows.size:
            linear[rows, cols] = fitted_linear[:, 0]
        index = np.rint(np.clip(linear, 0.0, 1.0) * 65535.0).astype(np.uint16)
        out[s] = lut[index]

    _parallel(strip, l.shape[0])
    return out


def fit_ab_in_gamut(l, ab, iterations=7):
    """(h, w) L and (h, w, 2) ab -> (h, w, 2) float32 ab with the chroma of out-of-gamut colours
    reduced as :func:`lab_to_rgb_keep_l` reduces it: the ab of the sRGB it composes, without
    going through RGB (for ab that is worked on further, e.g. a film's keyframes)."""
    out = np.array(ab, np.float32)

    def strip(s):
        l_s, ab_s = l[s], out[s]
        rows, cols, fitted, _ = _fit_chroma(l_s, ab_s, _lab_to_linear_2d(l_s, ab_s), iterations)
        if rows.size:
            ab_s[rows, cols] = fitted[:, 0]

    _parallel(strip, l.shape[0])
    return out


def _fit_chroma(l, ab, linear, iterations):
    """The out-of-gamut pixels of (h, w) L, (h, w, 2) ab whose linear RGB is ``linear`` (h, w, 3)
    -> (rows, cols, (N, 1, 2) ab scaled down until each fits, (N, 1, 3) its linear RGB).

    The scale comes from the table of sRGB's largest chroma at each L and hue (:func:`_max_chroma_table`),
    interpolated: one conversion checks it for all pixels, where bisecting every pixel took ``iterations``
    (the 15,000 out-of-gamut pixels ten saturated hints leave on a 512 x 512 photo: 1.2 ms less a call).
    Where the gamut's outline bends between entries (0.4% of random colours), 2% less chroma; the few
    still outside (0.03%) are bisected below it in ``iterations`` steps.
    """
    rows, cols = np.nonzero(_out_of_gamut(linear))
    if not rows.size:
        return rows, cols, None, None
    l_bad = l[rows, cols][:, None]  # (N, 1): a 1-pixel-wide image for the 2-D helpers
    ab_bad = ab[rows, cols][:, None]  # (N, 1, 2)
    scale = np.minimum(_table_chroma(l_bad[:, 0], ab_bad[:, 0]) / np.maximum(np.hypot(ab_bad[:, 0, 0], ab_bad[:, 0, 1]),
                                                                                1e-6), 1.0)[:, None, None]
    fitted = ab_bad * scale  # (N, 1, 2)
    linear = _lab_to_linear_2d(l_bad, fitted)  # (N, 1, 3)
    still = np.nonzero(_out_of_gamut(linear)[:, 0])[0]
    if still.size:  # the outline bent between entries (most at L < 3 or > 98): 2% less
        fitted[still] *= _TABLE_RETRY
        linear[still] = _lab_to_linear_2d(l_bad[still], fitted[still])
        scale[still] *= _TABLE_RETRY
        still = still[_out_of_gamut(linear[still])[:, 0]]
    if still.size:  # and the rare one left: bisect from 0 to the scale that did not fit
        lo = np.zeros((still.size, 1, 1), np.float32)  # scale known to fit (grey always fits)
        hi = scale[still]  # scale known not to fit
        for _ in range(iterations):
            mid = (lo + hi) / 2
            fits = ~_out_of_gamut(_lab_to_linear_2d(l_bad[still], ab_bad[still] * mid))[..., None]
            lo = np.where(fits, mid, lo)
            hi = np.where(fits, hi, mid)
        fitted[still] = ab_bad[still] * lo
        linear[still] = _lab_to_linear_2d(l_bad[still], fitted[still])
    return rows, cols, fitted, linear


_TABLE_L_STEPS = 200  # L in [0, 100] every 0.5
_TABLE_HUE_STEPS = 360  # hue in [-pi, pi] every degree
_TABLE_MARGIN = 0.998  # the interpolated chroma lowered by 0.2%: the outline curves between entries
_TABLE_RETRY = 0.98  # where that still did not fit


@functools.lru_cache(maxsize=1)
def _max_chroma_table():
    """(L steps + 1, hue steps + 1) float32: the largest chroma sRGB shows at each L and hue (ab units),
    found once by bisecting each ray from grey (20 steps from 0 to 200, 0.0002 units; about 0.1 s, the first
    time an out-of-gamut colour is composed)."""
    l = np.linspace(0.0, 100.0, _TABLE_L_STEPS + 1, dtype=np.float32)[:, None] * np.ones((1, _TABLE_HUE_STEPS + 1), np.float32)
    hue = np.linspace(-np.pi, np.pi, _TABLE_HUE_STEPS + 1)
    direction = np.broadcast_to(np.stack([np.cos(hue), np.sin(hue)], -1).astype(np.float32), l.shape + (2,))
    lo = np.zeros(l.shape + (1,), np.float32)
    hi = np.full(l.shape + (1,), 200.0, np.float32)  # beyond any sRGB colour's chroma (about 134)
    for _ in range(20):
        mid = (lo + hi) / 2
        fits = ~_out_of_gamut(_lab_to_linear_2d(l, direction * mid))[..., None]
        lo = np.where(fits, mid, lo)
        hi = np.where(fits, hi, mid)
    return lo[..., 0]


def _table_chroma(l, ab):
    """(N,) L and (N, 2) ab -> (N,) the gamut's chroma at each one's L and hue: the table interpolated
    bilinearly, lowered by _TABLE_MARGIN."""
    table = _max_chroma_table()
    row = np.clip(l * (_TABLE_L_STEPS / 100.0), 0, _TABLE_L_STEPS)
    col = (np.arctan2(ab[..., 1], ab[..., 0]) + np.pi) * (_TABLE_HUE_STEPS / (2 * np.pi))
    r0 = np.minimum(row.astype(np.intp), _TABLE_L_STEPS - 1)
    c0 = np.clip(col.astype(np.intp), 0, _TABLE_HUE_STEPS - 1)
    dr, dc = row - r0, col - c0
    top = table[r0, c0] * (1 - dc) + table[r0, c0 + 1] * dc
    bottom = table[r0 + 1, c0] * (1 - dc) + table[r0 + 1, c0 + 1] * dc
    return (top * (1 - dr) + bottom * dr) * _TABLE_MARGIN
