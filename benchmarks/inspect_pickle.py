"""Prints the structure of an official NVIDIA StyleGAN pickle, read safely (no code from the file runs).

Format, networks, class / build-function names, kwargs, and every array name with shape and dtype
(TF1 names flattened as NVIDIA's legacy.py does). With `--names FILE`, also compares the array names
against a name list (the `stylegan2_tf_names_256*.txt` / `sg1_32.names.txt` style), ignoring blocks
above the pickle's resolution.

Example:
    python benchmarks/inspect_pickle.py stylegan2-ffhq-config-f.pkl --network Gs --limit 40
    python benchmarks/inspect_pickle.py tiny32.ada.pkl --names stylegan2_tf_names_256.txt
"""
import argparse
import math
import re

import numpy as np

from keras_stylegan.zoo.pickles import flatten_tf_network, load_official_pickle


def network_arrays(data, key):
    """{name: array} of one network: TF1 names flattened, PyTorch names as in its state_dict."""
    net = data["networks"][key]
    return flatten_tf_network(net) if data["format"] == "tf1" else net["state_dict"]


def network_resolution(data, key):
    net = data["networks"][key]
    kwargs = net["static_kwargs"] if data["format"] == "tf1" else net["init_kwargs"]
    return kwargs.get("resolution", kwargs.get("img_resolution"))


def describe(data, source, networks=None, limit=None):
    """The printed summary, as a list of lines."""
    lines = [f"file: {source}", f"format: {data['format']}"]
    for key, value in data.get("extra", {}).items():
        lines.append(f"extra {key}: {value!r}")
    for key in networks or data["networks"]:
        net = data["networks"][key]
        arrays = network_arrays(data, key)
        count = f"{len(arrays)} arrays, {sum(a.size for a in arrays.values()):,} values"
        if data["format"] == "tf1":
            lines.append(f"network {key}: name {net['name']}, build_func_name {net['build_func_name']}, "
                         f"state version {net['version']}, {count}")
            lines.append(f"  static_kwargs: {net['static_kwargs']}")
            for name, component in net["components"].items():
                lines.append(f"  component {name}: name {component['name']}, build_func_name "
                             f"{component['build_func_name']}, static_kwargs {component['static_kwargs']}")
        else:
            lines.append(f"network {key}: class_name {net['class_name']}, {count}")
            lines.append(f"  init_kwargs: {net['init_kwargs']}")
        width = max((len(name) for name in arrays), default=0)
        for name, array in list(arrays.items())[:limit]:
            lines.append(f"  {name:<{width}}  {str(list(array.shape)):<18} {array.dtype}")
        if limit is not None and len(arrays) > limit:
            lines.append(f"  ... {len(arrays) - limit} more")
    return lines


def read_name_list(path):
    """{"G": {"tf": set, "torch": set}, "D": {...}} from a name-list file, and whether it lists a 256x256 net."""
    names = {"G": {"tf": set(), "torch": set()}, "D": {"tf": set(), "torch": set()}}
    is_256_list = False
    prefixes = {"G_mapping": "mapping/", "G_synthesis": "synthesis/"}
    is_d_file = path.endswith("_D.txt")
    for line in open(path):
        if not line.strip() or line.startswith("#"):
            continue
        if "\t" in line:  # sg1 style: network, local name, shape, trainable
            network, local = line.split("\t")[:2]
            kind = "D" if network.startswith("D") else "G"
            names[kind]["tf"].add(prefixes.get(network, "") + local)
        else:  # StyleGAN2 style: tf name, shape, ->, torch name, transform
            tf_name, torch_name = line.split()[0], line.split("->")[1].split()[0]
            kind, is_256_list = ("D" if is_d_file else "G"), True
            names[kind]["tf"].add(tf_name)
            names[kind]["torch"].add(torch_name)
    return names, is_256_list


def _fits_resolution(name, resolution):
    """False for names of blocks above `resolution` (RxR, bR, noiseK beyond the StyleGAN2 count)."""
    sizes = [int(r) for r in re.findall(r"(\d+)x\1", name) + re.findall(r"(?:^|\.)b(\d+)\.", name)]
    noise = re.match(r"synthesis/noise(\d+)$", name)
    if noise and int(noise.group(1)) >= 2 * int(math.log2(resolution)) - 3:
        return False
    return all(size <= resolution for size in sizes)


def compare_names(data, path):
    """Lines comparing each network's array names with the name list at `path`."""
    expected_all, is_256_list = read_name_list(path)
    side = "tf" if data["format"] == "tf1" else "torch"
    lines = [f"names check against {path}:"]
    for key in data["networks"]:
        expected = expected_all["D" if key == "D" else "G"][side]
        if not expected:
            continue
        resolution = network_resolution(data, key)
        if is_256_list:  # sg1-style lists name exactly one network
            expected = {n for n in expected if _fits_resolution(n, resolution)}
        actual = set(network_arrays(data, key))
        missing, unlisted = sorted(expected - actual), sorted(actual - expected)
        lines.append(f"  {key}: {len(actual & expected)} of {len(expected)} listed names present; "
                     f"missing {missing}; not in list {unlisted}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pickle", help="path of an official StyleGAN pickle (TF1 or stylegan2-ada-pytorch)")
    parser.add_argument("--network", action="append", help="only this network (repeatable), e.g. Gs or G_ema")
    parser.add_argument("--limit", type=int, default=None, help="print at most this many array names per network")
    parser.add_argument("--names", help="a name-list file to compare the array names with")
    args = parser.parse_args()
    data = load_official_pickle(args.pickle)
    unknown = set(args.network or ()) - set(data["networks"])
    if unknown:
        parser.error(f"--network must be one of {sorted(data['networks'])}. Received: {sorted(unknown)}")
    np.set_printoptions(threshold=10)
    print("\n".join(describe(data, args.pickle, args.network, args.limit)))
    if args.names:
        print("\n".join(compare_names(data, args.names)))


if __name__ == "__main__":
    main()
