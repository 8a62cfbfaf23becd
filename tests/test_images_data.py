"""Image datasets from local files: a folder of images, torchvision classes, and their errors."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch
from PIL import Image

from genbench.catalog import DATASETS
from genbench.data.images import ImageFolderDataset, TorchvisionDataset
from genbench.data.params import ImageFolderParams, TorchvisionParams
from genbench.errors import GenbenchError

from .components import built


def image_folder(root: Path, **params) -> ImageFolderDataset:
    return built(DATASETS, "image_folder", root=str(root), **params)


def torchvision_dataset(name: str, root: Path, **params) -> TorchvisionDataset:
    return built(DATASETS, "torchvision", name=name, root=str(root), **params)


def write_images(
    folder: Path, values: list[int], size: tuple[int, int] = (24, 20), mode: str = "RGB"
) -> None:
    """One solid image per value (pixel value ``value`` in every channel), in two subfolders."""
    for index, value in enumerate(values):
        path = folder / f"class{index % 2}" / f"image{index:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new(mode, size, (value,) * len(mode)).save(path)


def draw_values(images: torch.Tensor) -> set[int]:
    """The uint8 value of each solid image, read back from [-1, 1]."""
    return {round((image.mean().item() + 1) * 127.5) for image in images}


def rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_image_folder_gives_float32_chw_images_in_minus_one_to_one(tmp_path):
    write_images(tmp_path, [0, 255, 40, 200])
    dataset = image_folder(tmp_path, size=16)
    batch = dataset.sample(8, rng())
    assert dataset.shape == (3, 16, 16)
    assert batch.shape == (8, 3, 16, 16) and batch.dtype == torch.float32
    assert batch.min() >= -1 and batch.max() <= 1


def test_uint8_values_map_to_v_over_127_5_minus_one(tmp_path):
    write_images(tmp_path, [51, 51, 51])
    batch = image_folder(tmp_path, size=8).sample(4, rng())
    assert torch.allclose(batch, torch.full_like(batch, 51 / 127.5 - 1))


def test_image_folder_holds_out_a_seeded_reference_split(tmp_path):
    values = list(range(0, 200, 10))  # 20 distinct images
    write_images(tmp_path, values)
    dataset = image_folder(tmp_path, size=8, test_fraction=0.25, split_seed=3)
    held_out = draw_values(dataset.reference(5, rng()))
    trained_on = draw_values(dataset.sample(500, rng()))
    assert len(held_out) == 5 and len(trained_on) == 15
    assert held_out | trained_on == set(values) and not held_out & trained_on
    other_seed = image_folder(tmp_path, size=8, test_fraction=0.25, split_seed=4)
    assert draw_values(other_seed.reference(5, rng())) != held_out


def test_reference_draws_distinct_images_while_there_are_enough(tmp_path):
    write_images(tmp_path, list(range(0, 200, 10)))
    dataset = image_folder(tmp_path, size=8, test_fraction=0.5)
    assert len(draw_values(dataset.reference(10, rng()))) == 10


def test_grayscale_on_request(tmp_path):
    write_images(tmp_path, [10, 20, 30])
    assert image_folder(tmp_path, size=8, channels=1).shape == (1, 8, 8)


def test_keeping_the_stored_size(tmp_path):
    write_images(tmp_path, [10, 20, 30], size=(12, 10))
    assert image_folder(tmp_path).shape == (3, 10, 12)


def test_images_of_different_sizes_need_a_size(tmp_path):
    write_images(tmp_path / "a", [10, 20], size=(12, 12))
    write_images(tmp_path / "b", [30, 40], size=(16, 16))
    with pytest.raises(GenbenchError, match="set 'size'"):
        image_folder(tmp_path, test_fraction=0.25).sample(50, rng())


def test_sets_above_the_memory_cap_are_decoded_at_every_draw_to_the_same_images(tmp_path):
    write_images(tmp_path, list(range(0, 200, 10)))
    cached = image_folder(tmp_path, size=8)
    uncached = image_folder(tmp_path, size=8, max_cached_mb=0)
    assert cached.train.cached and not uncached.train.cached
    assert torch.equal(cached.sample(16, rng(5)), uncached.sample(16, rng(5)))


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(GenbenchError, match="no folder at"):
        image_folder(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenbenchError, match="no image files"):
        image_folder(tmp_path / "empty")


def test_missing_torchvision_dataset_says_where_it_looked_and_how_to_get_it(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(GenbenchError) as error:
        torchvision_dataset("CIFAR10", root)
    message = str(error.value)
    assert str(root) in message and "download: true" in message and "CIFAR10" in message


def test_unknown_torchvision_class_suggests_the_closest_name(tmp_path):
    with pytest.raises(GenbenchError, match="Did you mean 'FashionMNIST'"):
        torchvision_dataset("FashonMNIST", tmp_path)


def write_idx(path: Path, data: torch.Tensor) -> None:
    """An MNIST idx file: magic (uint8 type 0x08, number of dimensions), big-endian sizes, bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", 0x0800 + data.dim()) + struct.pack(f">{data.dim()}I", *data.shape)
    path.write_bytes(header + data.to(torch.uint8).numpy().tobytes())


def fake_mnist(root: Path, train_values: list[int], test_values: list[int]) -> None:
    """MNIST's raw files under root with solid 28x28 digits of the given values."""
    for prefix, values in (("train", train_values), ("t10k", test_values)):
        images = torch.tensor(values).reshape(-1, 1, 1).expand(-1, 28, 28)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte", torch.zeros(len(values)))


def test_torchvision_class_trains_on_its_train_split_and_references_its_test_split(tmp_path):
    fake_mnist(tmp_path, train_values=[10, 20, 30], test_values=[200, 250])
    dataset = torchvision_dataset("MNIST", tmp_path, size=16)
    assert dataset.shape == (1, 16, 16)
    assert draw_values(dataset.sample(200, rng())) == {10, 20, 30}
    assert draw_values(dataset.reference(2, rng())) == {200, 250}


def test_torchvision_grayscale_to_rgb(tmp_path):
    fake_mnist(tmp_path, train_values=[10, 20], test_values=[200])
    assert torchvision_dataset("MNIST", tmp_path, channels=3).shape == (3, 28, 28)


def test_roots_are_relative_to_the_suite_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "faces").mkdir()
    context = {"base_dir": str(tmp_path)}
    params = TorchvisionParams.model_validate({"name": "CIFAR10", "root": "data"}, context=context)
    assert params.root == str(tmp_path / "data") and params.download is False
    folder = ImageFolderParams.model_validate({"root": "faces"}, context=context)
    assert folder.root == str(tmp_path / "faces")
