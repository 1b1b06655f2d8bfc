"""Tests for keras_stylegan.data: reading images (Pillow) and the tf.data pipeline."""
import io
import json
import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image

from keras_stylegan.data import image_dataset, read_images, scan_source

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def save(path, pixels, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, np.uint8), mode).save(path)
    return path


def solid(size, colour):
    """An `[h, w, len(colour)]` uint8 image of one colour; `size` is (h, w)."""
    return np.broadcast_to(np.uint8(colour), (*size, len(colour))).copy()


def png_bytes(pixels):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def read_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # these reads must not warn
        return read_images(*args, **kwargs)


def test_gray_stays_one_channel_and_rgb_three(tmp_path):
    save(tmp_path / "gray" / "a.png", np.full((8, 8), 77), "L")
    save(tmp_path / "rgb" / "a.jpg", solid((8, 8), (10, 200, 30)))
    gray, info = read_quietly(tmp_path / "gray", 8)
    assert gray.shape == (1, 8, 8, 1) and gray.dtype == np.uint8 and info.channels == 1
    assert np.all(gray == 77)
    rgb, info = read_quietly(tmp_path / "rgb", 8)
    assert rgb.shape == (1, 8, 8, 3) and info.channels == 3
    assert np.abs(rgb[0, 4, 4].astype(int) - (10, 200, 30)).max() <= 3  # JPEG is lossy


def test_rgba_keeps_alpha_and_zeroes_colour_where_transparent(tmp_path):
    pixels = solid((8, 8), (0, 255, 0, 255))
    pixels[:, :4] = (255, 0, 255, 0)  # stray colour in fully transparent pixels
    pixels[0, 7] = (200, 100, 0, 128)
    save(tmp_path / "a.png", pixels)
    images, info = read_quietly(tmp_path, 8)
    assert info.channels == 4
    np.testing.assert_array_equal(images[0, ..., 3], pixels[..., 3])
    assert np.all(images[0, :, :4, :3] == 0)
    np.testing.assert_array_equal(images[0, 1:, 4:], pixels[1:, 4:])
    np.testing.assert_array_equal(images[0, 0, 7], (200, 100, 0, 128))


def test_channel_conversions_follow_pillow(tmp_path):
    corners = np.array([[[200, 100, 0, 128], [50, 60, 70, 255]], [[9, 9, 9, 0], [255, 255, 255, 64]]], np.uint8)
    rgba = np.tile(corners, (2, 2, 1))
    save(tmp_path / "rgba" / "a.png", rgba)
    rgb, _ = read_quietly(tmp_path / "rgba", 4, channels=3)
    composite = np.round(rgba[..., :3] * (rgba[..., 3:] / 255.0))  # onto black
    np.testing.assert_allclose(rgb[0], composite, atol=1)

    colours = np.random.default_rng(0).integers(0, 256, (4, 4, 3)).astype(np.uint8)
    save(tmp_path / "rgb" / "a.png", colours)
    gray, _ = read_quietly(tmp_path / "rgb", 4, channels=1)
    pillow_gray = np.asarray(Image.fromarray(colours).convert("L"))
    assert np.abs(gray[0, ..., 0].astype(int) - pillow_gray).max() <= 1
    rgba_out, _ = read_quietly(tmp_path / "rgb", 4, channels=4)
    np.testing.assert_array_equal(rgba_out[0, ..., :3], colours)
    assert np.all(rgba_out[..., 3] == 255)
    gray_alpha, _ = read_quietly(tmp_path / "rgba", 4, channels=2)
    np.testing.assert_array_equal(gray_alpha[0, ..., 1], rgba[..., 3])


def test_mixed_modes_keep_colour_and_alpha(tmp_path):
    save(tmp_path / "a.png", np.full((4, 4), 90), "L")
    save(tmp_path / "b.png", solid((4, 4), (1, 2, 3, 40)))
    images, info = read_quietly(tmp_path, 4)
    assert info.channels == 4 and images.shape == (2, 4, 4, 4)
    np.testing.assert_array_equal(images[0, 0, 0], (90, 90, 90, 255))


def vertical_bands(height, width, colours):
    pixels = np.zeros((height, width, 3), np.uint8)
    for i, colour in enumerate(colours):
        pixels[:, i * width // len(colours): (i + 1) * width // len(colours)] = colour
    return pixels


def test_center_crop_and_resize_geometry(tmp_path):
    save(tmp_path / "a.png", vertical_bands(64, 96, [RED, GREEN, BLUE]))  # 96 wide, 64 high
    cropped, _ = read_quietly(tmp_path, 32, fit="crop")  # keeps columns 16..79, then halves
    expected = np.zeros((32, 32, 3), np.uint8)
    expected[:, :8], expected[:, 8:24], expected[:, 24:] = RED, GREEN, BLUE
    np.testing.assert_array_equal(cropped[0], expected)
    stretched, _ = read_quietly(tmp_path, 32, fit="resize")  # each band is a third of the width
    assert np.all(stretched[0, :, :10] == RED) and np.all(stretched[0, :, 11:21] == GREEN)
    assert np.all(stretched[0, :, 22:] == BLUE)


def test_non_square_target_crops_rows(tmp_path):
    pixels = np.zeros((64, 96, 3), np.uint8)
    pixels[:8] = pixels[56:] = WHITE  # outside the 96x48 center crop
    pixels[8:32], pixels[32:56] = RED, BLUE
    save(tmp_path / "a.png", pixels)
    images, info = read_quietly(tmp_path, "64x32")
    assert images.shape == (1, 32, 64, 3) and info.resolution == (32, 64)
    assert np.abs(images[0, 1:15].astype(int) - RED).max() <= 8
    assert np.abs(images[0, 17:31].astype(int) - BLUE).max() <= 8
    assert images[0, [0, 31], :, 1].max() < 40  # no white from the cropped rows


def test_unreadable_files_are_skipped_and_reported_once(tmp_path):
    good = png_bytes(solid((8, 8), RED))
    for i in range(3):
        save(tmp_path / f"good{i}.png", solid((8, 8), RED))
    (tmp_path / "corrupt.png").write_bytes(good[:16] + b"\x00garbage" * 20)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "notes.txt").write_text("ignored, not an image extension")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, info = read_images(tmp_path, 8)
    assert info.num_images == 3 and info.num_skipped == 4 and len(images) == 3
    assert np.all(images == solid((8, 8), RED))  # no zero images slipped in
    assert len(caught) == 1 and "Skipped 4" in str(caught[0].message)
    assert str(caught[0].message).count(".png") == 3  # up to three examples


def test_errors_for_empty_unreadable_and_missing_sources(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no readable images in .*empty"):
        read_images(tmp_path / "empty", 8)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_text("no")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"\(1 files skipped as unreadable\)"):
        read_images(tmp_path / "bad", 8)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_images(tmp_path / "nowhere", 8)
    with pytest.raises(ValueError, match="resolution"):
        read_images(tmp_path, 48)
    with pytest.raises(ValueError, match="channels"):
        read_images(tmp_path, 8, channels=5)
    with pytest.raises(ValueError, match="fit"):
        read_images(tmp_path, 8, fit="zoom")


def test_zip_and_folder_agree(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "folder"
    with zipfile.ZipFile(tmp_path / "images.zip", "w") as archive:
        for name in ["a.png", "sub/b.png", "sub/deeper/c.bmp"]:
            pixels = rng.integers(0, 256, (16, 16, 3))
            save(folder / name, pixels)
            archive.writestr(name, png_bytes(pixels))
    listing = scan_source(tmp_path / "images.zip")
    assert listing.names == ("a.png", "sub/b.png", "sub/deeper/c.bmp")
    from_zip, info = read_quietly(tmp_path / "images.zip", 8)
    from_folder, _ = read_quietly(folder, 8)
    assert info.num_images == 3
    np.testing.assert_array_equal(from_zip, from_folder)


def test_npz_npy_and_arrays(tmp_path):
    images = np.random.default_rng(2).integers(0, 256, (5, 8, 8, 3)).astype(np.uint8)
    np.savez(tmp_path / "data.npz", images=images, labels=np.arange(5) % 2)
    np.save(tmp_path / "data.npy", images)
    from_npz, info = read_quietly(tmp_path / "data.npz", 8)
    np.testing.assert_array_equal(from_npz, images)
    np.testing.assert_array_equal(info.labels, [0, 1, 0, 1, 0])
    assert info.num_classes == 2
    np.testing.assert_array_equal(read_quietly(tmp_path / "data.npy", 8)[0], images)
    floats = images / 127.5 - 1
    np.testing.assert_array_equal(read_quietly(floats.astype(np.float32), 8)[0], images)
    downscaled, _ = read_quietly(images, 4)
    expected = images.reshape(5, 4, 2, 4, 2, 3).astype(float).mean(axis=(2, 4))  # box filter
    assert np.abs(downscaled - expected).max() <= 1


def test_upscale_warns_once(tmp_path):
    for i in range(3):
        save(tmp_path / f"{i}.png", solid((8, 8), GREEN))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, _ = read_images(tmp_path, 16)
    assert images.shape == (3, 16, 16, 3)
    assert len(caught) == 1 and "upscaled" in str(caught[0].message)


def test_dataset_batches_in_minus_one_one(tmp_path):
    pixels = np.zeros((4, 8, 8, 4), np.uint8)
    pixels[..., 0], pixels[..., 3] = 255, 255
    pixels[:, 0, 0] = (51, 102, 0, 255)
    ds, info = image_dataset(pixels, 8, batch_size=2, shuffle=False, repeat=False)
    batches = [b.numpy() for b in ds]
    assert len(batches) == 2 and info.channels == 4
    batch = batches[0]
    assert batch.shape == (2, 8, 8, 4) and batch.dtype == np.float32
    assert batch.min() >= -1 and batch.max() <= 1
    np.testing.assert_allclose(batch[0, 0, 0], np.array([51, 102, 0, 255]) / 127.5 - 1, atol=1e-6)
    rgb, info = image_dataset(pixels, "8x4", channels=3, batch_size=4)
    assert next(iter(rgb)).shape == (4, 4, 8, 3) and info.resolution == (4, 8)


def test_xflip_flips_about_half_reproducibly():
    pixels = np.zeros((64, 8, 8, 1), np.uint8)
    pixels[:, :, :4] = 255  # white on the left
    pixels[:, 0, 0] = 0  # an asymmetric mark to check the mirror exactly

    def flipped(seed, xflip=True):
        ds, _ = image_dataset(pixels, 8, batch_size=64, shuffle=False, xflip=xflip, seed=seed, repeat=False)
        batch = next(iter(ds)).numpy()
        is_flipped = batch[:, :, 4:].mean(axis=(1, 2, 3)) > batch[:, :, :4].mean(axis=(1, 2, 3))
        np.testing.assert_array_equal(batch[is_flipped], (pixels[is_flipped][:, :, ::-1] / 127.5 - 1))
        return is_flipped

    first = flipped(seed=3)
    assert 16 <= first.sum() <= 48
    np.testing.assert_array_equal(first, flipped(seed=3))
    assert not np.array_equal(first, flipped(seed=4))
    assert not flipped(seed=3, xflip=False).any()


def test_labels_from_dataset_json_follow_shuffled_images(tmp_path):
    entries = []
    for i in range(6):
        name = f"class{i % 3}/{i}.png"
        save(tmp_path / name, np.full((4, 4), 40 * (i % 3)), "L")  # brightness encodes the class
        entries.append([name, i % 3])
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": entries}))
    ds, info = image_dataset(tmp_path, 4, batch_size=6, labels=True, shuffle=True, seed=5)
    assert info.num_classes == 3 and info.num_images == 6
    images, labels = next(iter(ds))
    assert labels.dtype.is_integer and sorted(labels.numpy().tolist()) == [0, 0, 1, 1, 2, 2]
    np.testing.assert_allclose(images.numpy()[:, 0, 0, 0], labels.numpy() * 40 / 127.5 - 1, atol=1e-6)
    with pytest.raises(ValueError, match="no labels"):
        image_dataset(np.zeros([2, 4, 4, 3], np.uint8), 4, labels=True)


def test_shuffle_is_seeded_and_reshuffles_each_epoch():
    pixels = np.arange(20, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 1), np.uint8)

    def epochs(seed, shuffle=True):
        ds, _ = image_dataset(pixels, 4, batch_size=20, shuffle=shuffle, seed=seed)
        return [np.round((batch.numpy()[:, 0, 0, 0] + 1) * 127.5).astype(int) for _, batch in zip(range(2), ds)]

    first, second = epochs(seed=0)
    assert sorted(first) == sorted(second) == list(range(20))  # each epoch is a permutation
    assert list(first) != list(range(20)) and list(first) != list(second)
    np.testing.assert_array_equal(first, epochs(seed=0)[0])
    assert list(epochs(seed=0, shuffle=False)[0]) == list(range(20))
