"""Shared helpers of the robustness tests: a tiny official-format pickle and directory fingerprints."""
import hashlib
import os

import numpy as np

# A StyleGAN2 pair as small as the converter accepts (the exact shape of the data-loss report's pickle).
G_KWARGS = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3, mapping_kwargs=dict(num_layers=1),
                synthesis_kwargs=dict(channel_base=32, channel_max=8))
D_KWARGS = dict(c_dim=0, img_resolution=8, img_channels=3, channel_base=32, channel_max=8,
                epilogue_kwargs=dict(mbstd_group_size=2))


def write_tiny_pickle(path, seed=0):
    """Writes a stylegan2-ada-pytorch pickle (G_ema + D, random weights) built by `official_pickles`."""
    from keras_stylegan import Discriminator, Generator
    from keras_stylegan.zoo.convert import export_weights
    from official_pickles import write_pytorch_pickle

    g = Generator(resolution=8, channels=3, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=1)
    d = Discriminator(resolution=8, channels=3, channel_base=32, channel_max=8, mbstd_group_size=2)
    rng = np.random.RandomState(seed)
    for v in g.weights + d.weights:
        if "seed_generator" not in v.path:
            v.assign(np.asarray(rng.randn(*v.shape), "float32") * 0.5)
    write_pytorch_pickle(path, {
        "G_ema": dict(class_name="Generator", init_kwargs=G_KWARGS, state_dict=export_weights(g)),
        "D": dict(class_name="Discriminator", init_kwargs=D_KWARGS, state_dict=export_weights(d))})
    return str(path)


def fingerprint(directory):
    """`{relative path: sha256 or "<dir>"}` of everything under `directory`, hidden entries included."""
    found = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), directory)] = "<dir>"
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                found[os.path.relpath(os.path.join(root, name), directory)] = hashlib.sha256(f.read()).hexdigest()
    return found
