"""Corrupt and malformed data sources are refused with one clear ValueError (issue 16, items 6-7)."""
import json
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_stylegan.data import read_images, scan_source
from keras_stylegan.data.images import MAX_CLASSES


def image_folder(tmp_path, dataset_json):
    folder = tmp_path / "data"
    folder.mkdir()
    Image.fromarray(np.zeros([8, 8, 3], np.uint8)).save(folder / "a.png")
    (folder / "dataset.json").write_bytes(dataset_json)
    return folder


def test_a_corrupt_zip_names_the_file(tmp_path):
    path = tmp_path / "corrupt.zip"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 10)
    with pytest.raises(ValueError, match=f"cannot read {path}: not a readable zip file"):
        read_images(path, 8)


def test_a_corrupt_dataset_json_inside_a_zip(tmp_path):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.png", b"")
        archive.writestr("dataset.json", b"\xff\xfe{")
    with pytest.raises(ValueError, match="dataset.json in .* is not valid JSON"):
        scan_source(path)


@pytest.mark.parametrize("document, message", [
    (b'{"labels": [["a.png"]]}', r"the entry \['a.png'\] is not a \[path, class\] pair"),
    (b'{"labels": 5}', "'labels' is not a list"),
    (b'[1, 2]', "is not NVIDIA's format"),
    (b'{"labels": [["a.png", "x"]]}', "class 'x' is not an int in"),
    (b'{"labels": [["a.png", -3]]}', "class -3 is not an int in"),
    (b'{"labels": [["a.png", 1.5]]}', "class 1.5 is not an int in"),
    (b'{"labels": [["a.png", true]]}', "class True is not an int in"),
    (b'{"labels": [["a.png", 99999999999999999999]]}', f"is not an int in \\[0, {MAX_CLASSES}\\)"),
    (b'{"labels": [[5, 1]]}', r"the entry \[5, 1\] is not a \[path, class\] pair"),
    (b"\xff\xfe{", "is not valid JSON"),
    (b"{", "is not valid JSON"),
    (b"[" * 100000, "is not valid JSON"),
])
def test_a_malformed_dataset_json_is_one_clear_error(tmp_path, document, message):
    with pytest.raises(ValueError, match=message) as error:
        read_images(image_folder(tmp_path, document), 8)
    assert "dataset.json" in str(error.value) and "\n" not in str(error.value)


def test_a_well_formed_dataset_json_still_reads(tmp_path):
    images, info = read_images(image_folder(tmp_path, json.dumps({"labels": [["a.png", 2]]}).encode()), 8)
    assert info.labels.tolist() == [2] and info.num_classes == 3


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_pixels_are_refused_not_turned_into_zero(tmp_path, bad):
    pixels = np.zeros([3, 8, 8, 3], np.float32)
    pixels[1, 2, 3, 0] = bad
    np.save(tmp_path / "pixels.npy", pixels)
    for source in (tmp_path / "pixels.npy", pixels):
        with pytest.raises(ValueError, match=r"hold 1 NaN or infinite value\(s\)"):
            read_images(source, 8)


@pytest.mark.parametrize("labels, message", [
    (np.array([0, -1, 2]), "must be integer class ids in"),
    (np.array([0.5, 1, 2]), "must be integer class ids in"),
    (np.array([0, np.nan, 2]), "must be integer class ids in"),
    (np.array([0, 1]), "must hold one class per image"),
    (np.array(["a", "b", "c"]), "must be integer class ids"),
])
def test_bad_npz_labels(tmp_path, labels, message):
    np.savez(tmp_path / "data.npz", images=np.zeros([3, 8, 8, 3], np.uint8), labels=labels)
    with pytest.raises(ValueError, match=message):
        read_images(tmp_path / "data.npz", 8)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04junk", b"\x93NUMPY garbage"])
def test_a_corrupt_npz_or_npy_is_one_clear_error(tmp_path, content):
    for name in ("data.npz", "data.npy"):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=f"cannot read .*{name}: not a valid NumPy file"):
            read_images(tmp_path / name, 8)


@pytest.mark.parametrize("source, message", [
    ("corrupt.zip", "not a readable zip file (File is not a zip file)"),
    ("nan.npy", "hold 1 NaN or infinite value(s)"),
])
def test_the_cli_reports_a_bad_source_in_one_line(tmp_path, source, message):
    from keras_stylegan.cli.main import cli
    from keras_stylegan.zoo.presets import save_preset
    from test_sampling import make_generator

    (tmp_path / "corrupt.zip").write_bytes(b"PK\x03\x04garbage")
    pixels = np.zeros([2, 16, 16, 4], np.float32)
    pixels[0, 0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", pixels)
    preset = save_preset(tmp_path / "tiny", make_generator())
    result = CliRunner().invoke(cli, ["metrics", "--metrics", "swd", "--model", str(preset), "--data",
                                      str(tmp_path / source), "--num", "2"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ") and message in result.stderr
