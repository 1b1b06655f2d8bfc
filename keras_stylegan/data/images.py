"""Images from a folder, a zip or an array, decoded once with Pillow into one uint8 array.

Every image is fitted to the target resolution and converted to the target channel count with
Pillow's conventions, so a training run, a metric and a projection all see the same pixels.
This module needs only NumPy and Pillow; `keras_stylegan.data.dataset` feeds the result to
`tf.data`.
"""
import concurrent.futures
import dataclasses
import io
import json
import os
import warnings
import zipfile
import zlib

import numpy as np
from PIL import Image

from keras_stylegan.utils.images import MODES, to_pil_image, to_uint8
from keras_stylegan.utils.shapes import format_resolution, parse_resolution

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
ARRAY_EXTENSIONS = (".npz", ".npy")
FITS = ("crop", "resize")
MAX_WORKERS = 8
MAX_CLASSES = 65_536  # class ids must lie in [0, MAX_CLASSES): a stray huge id would size a model's embedding
_LABELS_FORMAT = "NVIDIA's format {'labels': [[path, class], ...]} with int classes"


@dataclasses.dataclass(frozen=True)
class SourceListing:
    """What `scan_source` found, before anything is decoded.

    Args:
        description: e.g. `"zip /data/emoji64.zip"` or `"array [100, 64, 64, 4] uint8"`.
        kind: `"folder"`, `"zip"` or `"array"`.
        path: the file or folder (`None` for an in-memory array).
        names: image names relative to the source root, `/`-separated and sorted
            (`"#0"`, `"#1"`, ... for an array).
        labels: `{name: class}` from NVIDIA's `dataset.json` (or an npz `labels` array), else `None`.
        array: the images of an array source, `[N, H, W, C]`.
    """

    description: str
    kind: str
    path: str = None
    names: tuple = ()
    labels: dict = dataclasses.field(default=None, repr=False)
    array: np.ndarray = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What `read_images` produced.

    Args:
        num_images: images decoded.
        num_skipped: files skipped as unreadable (corrupt, truncated, empty, not an image).
        resolution: `(height, width)` of every image.
        channels: channels of every image.
        source: description of the source.
        num_classes: number of classes (0 when the source has no labels).
        labels: int32 class of every image, or `None`.
        num_upscaled: images smaller than `resolution` (upscaled to fit).
    """

    num_images: int
    num_skipped: int
    resolution: tuple
    channels: int
    source: str
    num_classes: int = 0
    labels: np.ndarray = dataclasses.field(default=None, repr=False)
    num_upscaled: int = 0


def _is_hidden(name):
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _check_class_id(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < MAX_CLASSES:
        raise ValueError(f"{what}: class {value!r} is not an int in [0, {MAX_CLASSES})")
    return int(value)


def _labels_from_json(data, where):
    """`{name: class}` from the bytes of NVIDIA's `dataset.json`, or `None` when it has no `labels`."""
    what = f"dataset.json in {where}"
    try:
        document = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError(f"{what} is not valid JSON ({str(e).splitlines()[0]}); expected {_LABELS_FORMAT}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{what} is not {_LABELS_FORMAT}")
    labels = document.get("labels")
    if labels is None:
        return None
    if not isinstance(labels, list):
        raise ValueError(f"{what}: 'labels' is not a list; expected {_LABELS_FORMAT}")
    result = {}
    for entry in labels:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError(f"{what}: the entry {str(entry)[:80]} is not a [path, class] pair; expected "
                             f"{_LABELS_FORMAT}")
        result[entry[0].replace("\\", "/")] = _check_class_id(entry[1], f"{what}, {entry[0]!r}")
    return result


def _load_array_file(path):
    try:
        if path.lower().endswith(".npy"):
            return np.load(path, allow_pickle=False), None
        with np.load(path, allow_pickle=False) as archive:
            keys = [k for k in archive.files if k != "labels"]
            key = "images" if "images" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise ValueError(f"{path} must hold an 'images' array (and optional 'labels'). Found: {archive.files}")
            labels = archive["labels"] if "labels" in archive.files else None
            return archive[key], labels
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as e:
        raise ValueError(f"cannot read {path}: not a valid NumPy file ({e})") from None
    except ValueError as e:
        if str(e).startswith(path):
            raise
        raise ValueError(f"cannot read {path}: not a valid NumPy file ({str(e).splitlines()[0]})") from None


def _labels_from_array(label_array, num_images, where):
    """`{"#i": class}` from an npz `labels` array: class ids `[N]` (or `[N, 1]`) or one-hot rows `[N, K]`."""
    label_array = np.asarray(label_array)
    if label_array.ndim == 0 or len(label_array) != num_images:
        raise ValueError(f"labels in {where} must hold one class per image ({num_images}). Received shape: "
                         f"{label_array.shape}")
    label_array = label_array.reshape(num_images, -1)
    if label_array.shape[1] > 1:  # one-hot rows
        label_array = np.argmax(label_array, axis=1)[:, None]
    if not (np.issubdtype(label_array.dtype, np.integer) or np.issubdtype(label_array.dtype, np.floating)):
        raise ValueError(f"labels in {where} must be integer class ids. Received dtype: {label_array.dtype}")
    ids = label_array[:, 0]
    if ids.size and not (np.all(np.isfinite(ids)) and np.all(ids == np.round(ids)) and ids.min() >= 0
                         and ids.max() < MAX_CLASSES):
        raise ValueError(f"labels in {where} must be integer class ids in [0, {MAX_CLASSES})")
    return {f"#{i}": int(c) for i, c in enumerate(ids)}


def _check_array(array, where):
    array = np.asarray(array)
    if array.ndim == 3:  # [N, H, W]: grayscale without a channel axis
        array = array[..., None]
    if array.ndim != 4 or not 1 <= array.shape[-1] <= 4:
        raise ValueError(f"images in {where} must be [N, H, W, C] with 1 <= C <= 4. Received shape: {array.shape}")
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"images in {where} must be uint8 or float in [-1, 1]. Received dtype: {array.dtype}")
    bad = np.size(array) - np.count_nonzero(np.isfinite(array))
    if bad:  # NaN would silently become pixel value 0 (or 255 for inf)
        raise ValueError(f"images in {where} hold {bad} NaN or infinite value(s); float pixels must be finite "
                         "numbers in [-1, 1]")
    return to_uint8(array)  # the one float -> uint8 conversion (exact for pixels saved as u / 127.5 - 1)


def scan_source(source):
    """Lists the images of a source without decoding them.

    Args:
        source: a folder (searched recursively for png/jpg/jpeg/webp/bmp; hidden files are
            ignored), a `.zip` of images, a `.npy`/`.npz` file (`images`, optional `labels`),
            or a NumPy array `[N, H, W, C]` (uint8, or float in [-1, 1]). A `dataset.json` at
            the root of a folder or zip (NVIDIA's `{"labels": [[path, int], ...]}`) gives labels.

    Returns:
        A `SourceListing`.

    Example:
    >>> scan_source(np.zeros([3, 8, 8, 3], "uint8")).names
    ('#0', '#1', '#2')
    """
    if isinstance(source, np.ndarray):
        array = _check_array(source, "the array")
        description = f"array {list(array.shape)} {source.dtype}"
        return SourceListing(description, "array", None, tuple(f"#{i}" for i in range(len(array))), None, array)
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"`source` must be a folder, a .zip/.npz/.npy path or a NumPy array. Received: {source!r}")
    path = os.path.abspath(os.fspath(source))
    if not os.path.exists(path):
        raise FileNotFoundError(f"`source` not found: {path}")
    labels = None
    if os.path.isdir(path):
        names = []
        for root, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            names += [os.path.relpath(os.path.join(root, f), path).replace(os.sep, "/") for f in files]
        if "dataset.json" in names:
            with open(os.path.join(path, "dataset.json"), "rb") as file:
                labels = _labels_from_json(file.read(), path)
        kind = "folder"
    elif path.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                if "dataset.json" in names:
                    data = archive.read("dataset.json")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError,
                zlib.error) as e:  # not a zip, truncated, encrypted, unknown compression, corrupt stream
            raise ValueError(f"cannot read {path}: not a readable zip file ({e})") from None
        if "dataset.json" in names:
            labels = _labels_from_json(data, path)
        kind = "zip"
    elif path.lower().endswith(ARRAY_EXTENSIONS):
        array, label_array = _load_array_file(path)
        array = _check_array(array, path)
        if label_array is not None:
            labels = _labels_from_array(label_array, len(array), path)
        names = tuple(f"#{i}" for i in range(len(array)))
        return SourceListing(f"{path[-4:].lstrip('.')} {path}", "array", path, names, labels, array)
    else:
        raise ValueError(f"`source` must be a folder, a .zip, .npz or .npy file. Received: {path}")
    names = sorted(n for n in names if n.lower().endswith(IMAGE_EXTENSIONS) and not _is_hidden(n))
    return SourceListing(f"{kind} {path}", kind, path, tuple(names), labels)


def canonical_image(image):
    """Decodes fully (so truncated files fail here) and returns an L, LA, RGB or RGBA image."""
    image.load()
    mode = image.mode
    if mode in ("1", "L", "LA", "RGB", "RGBA"):
        return image.convert("L") if mode == "1" else image
    if mode.startswith("I"):  # 16/32-bit gray: keep the top 8 bits of 16-bit data
        pixels = np.asarray(image).astype(np.uint32)
        return Image.fromarray((pixels >> 8 if pixels.max() > 255 else pixels).astype(np.uint8))
    if mode in ("P", "PA") and ("transparency" in image.info or mode == "PA"):
        return image.convert("RGBA")
    return image.convert({"La": "LA", "RGBa": "RGBA"}.get(mode, "RGB"))


def fit_image(image, size, fit):
    """Center-crops to the target aspect (`fit="crop"`), then resizes to `size = (width, height)`."""
    width, height = image.size
    box = (0, 0, width, height)
    if fit == "crop":
        crop_width = min(width, round(height * size[0] / size[1]))
        crop_height = min(height, round(width * size[1] / size[0]))
        left, top = (width - crop_width) // 2, (height - crop_height) // 2
        box = (left, top, left + crop_width, top + crop_height)
    box_width, box_height = box[2] - box[0], box[3] - box[1]
    if (box_width, box_height) == size:
        return image.crop(box) if box != (0, 0, width, height) else image
    # BOX is an exact area average for whole-number downscales (no ringing at alpha edges).
    whole_downscale = box_width % size[0] == 0 and box_height % size[1] == 0
    resample = Image.BOX if whole_downscale else Image.LANCZOS
    return image.resize(size, resample, box=box)  # Pillow premultiplies alpha while resizing


def _decode(read, name, size, fit):
    """Returns `(uint8 [H, W, k], upscaled)` or `None` when the image cannot be read."""
    try:
        image = read(name)
        if not isinstance(image, Image.Image):
            image = Image.open(io.BytesIO(image))
        image = canonical_image(image)
        upscaled = image.size[0] < size[0] or image.size[1] < size[1]
        pixels = np.asarray(fit_image(image, size, fit), np.uint8)
    except Exception:  # Pillow raises many types for bad files; any of them means "unreadable"
        return None
    return (pixels[..., None] if pixels.ndim == 2 else pixels), upscaled


def convert_channels(pixels, channels):
    """Converts uint8 images `[..., k]` (k = 1 L, 2 LA, 3 RGB, 4 RGBA) to `channels` channels.

    Follows Pillow: gray -> RGB repeats the gray, RGB -> gray is ITU-R 601 luma, an added alpha is
    opaque. Dropping alpha composites onto black. Colour is zeroed where alpha is 0.

    Args:
        pixels: uint8 array whose last axis holds 1 to 4 channels.
        channels: 1, 2, 3 or 4.

    Example:
    >>> convert_channels(np.array([[200, 100, 0, 128]], "uint8"), 3).tolist()
    [[100, 50, 0]]
    """
    source_channels = pixels.shape[-1]
    has_alpha = source_channels in (2, 4)
    colour = pixels[..., : source_channels - has_alpha]
    if not has_alpha:
        alpha = np.full_like(colour[..., :1], 255)
    elif channels in (1, 3):  # composite onto black (this also zeroes colour where alpha is 0)
        alpha = pixels[..., -1:]
        colour = ((colour.astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
    else:
        alpha = pixels[..., -1:]
        colour = np.where(alpha == 0, np.uint8(0), colour)
    if colour.shape[-1] == 3 and channels in (1, 2):
        colour = np.round(colour @ np.float32([[0.299], [0.587], [0.114]])).astype(np.uint8)
    elif colour.shape[-1] == 1 and channels in (3, 4):
        colour = np.repeat(colour, 3, axis=-1)
    return np.concatenate([colour, alpha], axis=-1) if channels in (2, 4) else colour


def _channels_of(counts):
    """The channel count that keeps everything: colour if any image has colour, alpha if any has alpha."""
    colour = 3 if any(k >= 3 for k in counts) else 1
    return colour + (1 if any(k in (2, 4) for k in counts) else 0)


def _report_skipped(skipped, where):
    examples = ", ".join(skipped[:3]) + (", ..." if len(skipped) > 3 else "")
    warnings.warn(f"Skipped {len(skipped)} unreadable image file(s) in {where}: {examples}", stacklevel=3)


def read_images(source, resolution, channels=None, fit="crop"):
    """Decodes every image of a source once, fitted to one resolution and channel count.

    Unreadable files (corrupt, truncated, empty, not images) are skipped, counted in
    `info.num_skipped` and reported in one warning. Upscaling (images smaller than
    `resolution`) is allowed and warned about once.

    Args:
        source: see `scan_source`: a folder, a `.zip`, a `.npz`/`.npy` file or a NumPy array.
        resolution: an int, `(height, width)` or a `"WxH"` string (e.g. `"64x32"`: 64 wide).
        channels: 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA); `None` keeps the source's
            (colour if any image has colour, alpha if any image has alpha). Converting RGBA to
            RGB (or LA to L) composites onto black; colour is zeroed where alpha is 0.
        fit: `"crop"` center-crops to the target aspect ratio before resizing (Lanczos, or a box
            filter for whole-number downscales); `"resize"` stretches.

    Returns:
        `(images, info)`: uint8 `[N, H, W, C]` and an `ImageInfo` (labels in `info.labels`).

    Example:
    >>> images, info = read_images(np.zeros([2, 64, 96, 3], "uint8"), "32x16", channels=4)
    >>> images.shape, info.num_images
    ((2, 16, 32, 4), 2)
    """
    height, width = parse_resolution(resolution)
    if channels is not None and channels not in MODES:
        raise ValueError(f"`channels` must be 1, 2, 3, 4 or None. Received: {channels!r}")
    if fit not in FITS:
        raise ValueError(f"`fit` must be one of {FITS}. Received: {fit!r}")
    listing = scan_source(source)
    where = listing.path or "the array"
    if listing.kind == "array":
        array = listing.array
        if array.shape[1:3] == (height, width) and (channels or array.shape[-1]) == array.shape[-1]:
            results = [(image, False) for image in array]  # nothing to resample
        else:
            def read(name):
                return to_pil_image(array[int(name[1:])])
            results = [_decode(read, name, (width, height), fit) for name in listing.names]
    else:
        archive = zipfile.ZipFile(listing.path) if listing.kind == "zip" else None
        if archive is not None:
            read = archive.read  # ZipFile serializes member reads, so threads may share it
        else:
            def read(name):
                with open(os.path.join(listing.path, name), "rb") as file:
                    return file.read()
        try:
            with concurrent.futures.ThreadPoolExecutor(min(MAX_WORKERS, os.cpu_count() or 1)) as pool:
                results = list(pool.map(lambda n: _decode(read, n, (width, height), fit), listing.names))
        finally:
            if archive is not None:
                archive.close()
    skipped = [name for name, result in zip(listing.names, results) if result is None]
    kept = [(name, result[0]) for name, result in zip(listing.names, results) if result is not None]
    if skipped:
        _report_skipped(skipped, where)
    if not kept:
        raise ValueError(f"no readable images in {where} ({len(skipped)} files skipped as unreadable)")
    num_upscaled = sum(result[1] for result in results if result is not None)
    if num_upscaled:
        warnings.warn(f"{num_upscaled} image(s) in {where} are smaller than {format_resolution((height, width))} "
                      "and were upscaled.", stacklevel=2)
    counts = [pixels.shape[-1] for _, pixels in kept]
    channels = channels or _channels_of(counts)
    images = np.empty([len(kept), height, width, channels], np.uint8)
    for count in set(counts):
        index = [i for i, k in enumerate(counts) if k == count]
        images[index] = convert_channels(np.stack([kept[i][1] for i in index]), channels)
    labels, num_classes = None, 0
    if listing.labels is not None:
        missing = [name for name, _ in kept if name not in listing.labels]
        if missing:
            raise ValueError(f"dataset.json in {where} has no label for {len(missing)} image(s), e.g. {missing[0]}")
        labels = np.array([listing.labels[name] for name, _ in kept], np.int32)
        num_classes = int(labels.max()) + 1
    info = ImageInfo(len(kept), len(skipped), (height, width), channels, listing.description, num_classes, labels,
                     num_upscaled)
    return images, info
