"""ImageNet top-1 / top-5 of the ported EfficientNet-Lite0/1/2 on a folder of `<wnid>_<name>.jpg` photos.

A check that the torch -> Keras port is right (padding, BN, channel order, preprocessing): the
reference Lite0 gets ~75% top-1 on the ImageNet validation set, and clean one-per-class sample
photos score higher. Class index = position of the wnid in the sorted ILSVRC2012 wnid list, read
from the label file that tensorflow-datasets ships (no download).

    python benchmarks/encoder_imagenet.py [FOLDER] [--encoder lite0|lite1|lite2] [--batch-size 32] [--limit N]

FOLDER defaults to ../shared/data/train/objects relative to the repository root. Each variant sees
its own training input side (Lite0 224, Lite1 240, Lite2 260), the shorter side first resized to
side / 0.875 (256, 274, 297), then centre-cropped.
Measured on the 922 photos (2 CPU cores shared with training; images/s are not comparable):
Lite0 top-1 0.817, top-5 0.946; Lite1 0.834, 0.964; Lite2 0.820, 0.961. Lite0 ablations on the same photos: symmetric
k//2 padding 0.752, BN epsilon 1e-5 0.796, torch mean/std input normalisation 0.704, BGR input 0.694,
no activation after the head conv 0.685; other crops / interpolations 0.793-0.819.
Cross-checked once against the checkpoint's own PyTorch model code (torch in a scratch venv, not a
dependency): the same 296 tensors bit for bit, logits within 1.2e-5 of the Keras port, the same
top-1 class on all 922 photos, so the reference also scores 0.817. Each BatchNorm's stored running
statistics also match the statistics of the activations the port feeds it (stem to head), which a
wrong layout, stride, padding or skip would break. About 82% is what this checkpoint scores here
(its ImageNet validation top-1 is about 75%), not the ~90% once expected.
"""

import argparse
import importlib.util
import pathlib
import time

import cv2
import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = REPO_ROOT.parent / "shared" / "data" / "train" / "objects"
CROP_FRACTION = 0.875  # the usual centre crop: 224 of 256


def imagenet_wnids():
    """The 1000 ILSVRC2012 wnids in class-index order (sorted), from tensorflow-datasets' labels.txt."""
    spec = importlib.util.find_spec("tensorflow_datasets")  # locate without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("tensorflow-datasets is not installed: it provides the ImageNet wnid list")
    path = pathlib.Path(spec.submodule_search_locations[0]) / "datasets" / "imagenet2012" / "labels.txt"
    wnids = path.read_text().split()
    if len(wnids) != 1000 or wnids != sorted(wnids):
        raise SystemExit(f"{path}: expected the 1000 sorted ILSVRC2012 wnids")
    return wnids


def load_photo(path, crop=224, fraction=CROP_FRACTION):
    """(crop, crop, 3) float32 sRGB in [0, 255]: shorter side resized to crop / fraction, then centre-cropped."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{path}: cannot decode image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    scale = round(crop / fraction) / min(h, w)
    size = (max(crop, round(w * scale)), max(crop, round(h * scale)))
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (rgb.shape[0] - crop) // 2, (rgb.shape[1] - crop) // 2
    return rgb[top : top + crop, left : left + crop].astype(np.float32)


def evaluate(model, photos, labels, batch_size, crop=224, fraction=CROP_FRACTION):
    """Returns (top-1, top-5 accuracy, images/s of the forward pass alone)."""
    top1 = top5 = 0
    seconds = 0.0
    for start in range(0, len(photos), batch_size):
        batch = np.stack([load_photo(p, crop, fraction) for p in photos[start : start + batch_size]])  # (B, crop, crop, 3)
        tick = time.perf_counter()
        logits = np.asarray(model(batch, training=False)["logits"])  # (B, 1000)
        seconds += time.perf_counter() - tick
        best5 = np.argsort(-logits, axis=1)[:, :5]
        truth = np.asarray(labels[start : start + batch_size])[:, None]
        top1 += int((best5[:, :1] == truth).sum())
        top5 += int((best5 == truth).any(axis=1).sum())
    return top1 / len(photos), top5 / len(photos), len(photos) / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="folder of <wnid>_<name>.jpg photos")
    parser.add_argument("--encoder", choices=("lite0", "lite1", "lite2"), default="lite0",
                        help="which EfficientNet-Lite variant (default lite0)")
    parser.add_argument("--crop", type=int, default=None,
                        help="input side (default: the variant's own, 224 / 240 / 260)")
    parser.add_argument("--crop-fraction", type=float, default=CROP_FRACTION,
                        help="crop side / resized shorter side (default 0.875; TF's EfficientNet eval: side / (side + 32))")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N photos (sorted by name)")
    args = parser.parse_args()

    index = {wnid: i for i, wnid in enumerate(imagenet_wnids())}
    photos = sorted(pathlib.Path(args.folder).glob("*.jpg"))[: args.limit]
    photos = [p for p in photos if p.name.split("_")[0] in index]
    if not photos:
        raise SystemExit(f"{args.folder}: no <wnid>_<name>.jpg photos with an ILSVRC2012 wnid")
    labels = [index[p.name.split("_")[0]] for p in photos]

    from exemplar.model.encoder import build_encoder, input_size  # heavy import after argument checks

    crop = args.crop or input_size(args.encoder)
    model = build_encoder(args.encoder, include_top=True, weights="imagenet")
    model(np.zeros((1, crop, crop, 3), np.float32), training=False)  # warm-up: keep tracing out of the timing
    top1, top5, speed = evaluate(model, photos, labels, args.batch_size, crop, args.crop_fraction)
    print(f"EfficientNet-{args.encoder.title()} at {crop} px (resized to {round(crop / args.crop_fraction)}) on {args.folder}")
    print(f"N={len(photos)}  top-1={top1:.3f}  top-5={top5:.3f}  images/s={speed:.1f} (forward pass, batch {args.batch_size})")


if __name__ == "__main__":
    main()
