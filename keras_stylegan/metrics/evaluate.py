"""`compute_metrics`: NVIDIA-named metrics of a generator against real images, streamed in batches."""
import re

import numpy as np

from keras_stylegan.metrics.fid import frechet_inception_distance
from keras_stylegan.metrics.kid import kernel_inception_distance
from keras_stylegan.metrics.ppl import perceptual_path_length
from keras_stylegan.metrics.precision_recall import precision_recall
from keras_stylegan.metrics.swd import sliced_wasserstein_distance
from keras_stylegan.sampling import generate, to_uint8
from keras_stylegan.utils.checks import check_positive_int

# name -> generated images by default (NVIDIA's counts; SWD: ProGAN's 16384)
METRICS = {"fid50k": 50000, "kid50k": 50000, "pr50k3": 50000, "ppl_zfull": 50000, "ppl_wfull": 50000,
           "ppl_zend": 50000, "ppl_wend": 50000, "swd": 16384}
FEATURE_METRICS = ("fid50k", "kid50k", "pr50k3")


def parse_metrics(metrics):
    """`"fid50k,kid50k"` or a list -> list of known names (in order, without repeats)."""
    names = [m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ValueError(f"`metrics` must name some of {sorted(METRICS)}. Received: {metrics!r}")
    return list(dict.fromkeys(names))


def _generated_labels(rng, n, num_classes, real_labels=None):
    """Class ids `[n]` drawn from `real_labels` (the data's frequencies), else uniform; `None` if unconditional."""
    if not num_classes:
        return None
    return rng.choice(real_labels, n) if real_labels is not None else rng.integers(0, num_classes, n)


def _generated_batches(generator, num_images, batch_size, seed, progress, real_labels=None):
    """uint8 images in batches: Gaussian z, random noise, and classes drawn from `real_labels` as
    NVIDIA's metrics draw them from the dataset (uniform classes without `real_labels`).

    The noise maps are drawn from `seed` too, one per image and layer as NVIDIA's metrics draw them
    (`noise_mode='random'`), and passed explicitly, so results repeat. One map shared by a whole
    batch would tie its images together: with 8 batches of 256, an emoji model's SWD ranged 19-33
    over seeds, against 18.0-18.8 with a map per image.
    """
    rng = np.random.default_rng(seed)
    from keras_stylegan.networks.synthesis import synthesis_noise_layers  # TensorFlow loads here

    noise_shapes = [tuple(layer.noise_const.shape) for layer in synthesis_noise_layers(generator)]
    starts = range(0, num_images, batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="generating", unit="batch", leave=False, disable=None)
    for start in starts:
        n = min(batch_size, num_images - start)
        z = rng.standard_normal([n, generator.z_dim]).astype(np.float32)
        labels = _generated_labels(rng, n, generator.num_classes, real_labels)
        noise = [rng.standard_normal((n, *shape, 1)).astype(np.float32) for shape in noise_shapes]
        yield to_uint8(generate(generator, z, labels=labels, noise_mode="const", batch_size=n,
                                noise=noise or None))


def compute_metrics(generator, real_images, metrics, num_images=None, feature_extractor=None, ppl_distance=None,
                    inception_weights="imagenet", vgg_weights="imagenet", crop=False, batch_size=16, seed=0,
                    progress=False, real_labels=None):
    """Computes metrics of `generator` against `real_images`.

    FID, KID and precision/recall share one feature pass: generated images against all real
    images (NVIDIA's `*_full` convention). SWD keeps its images in memory. PPL needs no real
    images. Only SWD follows its paper's definition closely enough (no learned network) to compare
    with ProGAN's tables at the same image count; see the modules for the others.

    Args:
        generator: a `keras_stylegan.Generator`.
        real_images: uint8 `[N, H, W, C]` at the generator's resolution (`None` if only PPL).
        metrics: names from `METRICS` (`"fid50k,kid50k,pr50k3,ppl_wend,swd"` or a list).
        num_images: generated images / PPL paths per metric (default: each metric's own count).
        feature_extractor: `features(uint8 images) -> [N, D]`; default `InceptionFeatures(inception_weights)`.
        ppl_distance: pairwise image distance for PPL (default: LPIPS-style VGG16 with `vgg_weights`).
        inception_weights, vgg_weights: weights of the default networks ("imagenet", a file, or None).
        crop: NVIDIA's face crop for PPL.
        batch_size: images per forward pass.
        seed: seed of latents and subsets.
        progress: tqdm progress bars.
        real_labels: class ids `[N]` of `real_images`: a conditional generator's classes are drawn
            from them (the data's class frequencies, as NVIDIA's metrics), else uniformly. PPL
            always draws uniform classes.

    Returns:
        A dict: `fid50k`, `kid50k`, `pr50k3_precision`, `pr50k3_recall`, `ppl_wend` (...), and SWD's
        `swd_<res>` levels and `swd_avg`.

    Example:
    >>> compute_metrics(g, images, "fid50k,swd", num_images=64, feature_extractor=my_features)  # doctest: +SKIP
    {'fid50k': ..., 'swd_32': ..., 'swd_16': ..., 'swd_avg': ...}
    """
    names = parse_metrics(metrics)
    counts = {name: METRICS[name] if num_images is None else check_positive_int("num_images", num_images)
              for name in names}
    batch_size = check_positive_int("batch_size", batch_size)
    needs_real = [name for name in names if not name.startswith("ppl")]
    if needs_real:
        real_images = np.asarray(real_images) if real_images is not None else None
        if real_images is None or real_images.ndim != 4 or real_images.dtype != np.uint8:
            raise ValueError(f"{', '.join(needs_real)} need real images: uint8 [N, H, W, C]. Received: "
                             f"{None if real_images is None else (real_images.dtype, real_images.shape)}")
        expected = tuple(generator.resolution) + (generator.channels,)
        if real_images.shape[1:] != expected:
            raise ValueError(f"real images must be {expected} like the generator's. Received: {real_images.shape[1:]}")
    if needs_real and real_labels is not None and generator.num_classes:  # PPL draws its own classes
        real_labels = np.asarray(real_labels)
        if real_labels.shape != (len(real_images),) or not np.issubdtype(real_labels.dtype, np.integer) \
                or real_labels.min() < 0 or real_labels.max() >= generator.num_classes:
            raise ValueError(f"`real_labels` must be one class id in [0, {generator.num_classes}) per real image. "
                             f"Received: {real_labels.dtype} {real_labels.shape}")
    results = {}
    feature_names = [name for name in names if name in FEATURE_METRICS]
    num_generated = max([counts[name] for name in needs_real], default=0)
    if num_generated:
        if feature_names and feature_extractor is None:
            from keras_stylegan.metrics.features import InceptionFeatures

            feature_extractor = InceptionFeatures(inception_weights)
        generated_features, swd_images = [], []
        for images in _generated_batches(generator, num_generated, batch_size, seed, progress, real_labels):
            if feature_names:
                generated_features.append(np.asarray(feature_extractor(images), np.float64))
            if "swd" in names and sum(map(len, swd_images)) < counts["swd"]:
                swd_images.append(images)
        if feature_names:
            real_features = np.concatenate([np.asarray(feature_extractor(real_images[i: i + batch_size]), np.float64)
                                            for i in range(0, len(real_images), batch_size)])
            generated_features = np.concatenate(generated_features)
        for name in feature_names:
            fake = generated_features[: counts[name]]
            if name == "fid50k":
                results[name] = frechet_inception_distance(real_features, fake)
            elif name == "kid50k":
                results[name] = kernel_inception_distance(real_features, fake, seed=seed)
            else:
                pr = precision_recall(real_features, fake, k=3)
                results.update({f"{name}_precision": pr["precision"], f"{name}_recall": pr["recall"]})
        if "swd" in names:
            results.update(sliced_wasserstein_distance(real_images, np.concatenate(swd_images)[: counts["swd"]],
                                                       seed=seed))
    for name in names:
        match = re.fullmatch(r"ppl_([zw])(full|end)", name)
        if match:
            results[name] = perceptual_path_length(
                generator, counts[name], space=match.group(1), sampling=match.group(2), crop=crop,
                distance=ppl_distance, vgg_weights=vgg_weights, batch_size=batch_size, seed=seed, progress=progress)
    return results
