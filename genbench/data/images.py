"""Image datasets read from local files: any torchvision dataset class by name, or a folder of images.

Images are float32 (C, H, W) in [-1, 1], genbench's convention: a stored uint8 value v becomes
v / 127.5 - 1. With ``size`` set, the shorter side is resized (antialiased) to ``size`` and the centre
cropped to a square, the usual DCGAN preprocessing (Radford et al. 2016). Training draws from the
train split; references (and the held-out VAE metrics) from the test split, or, where the data has
no split (an image folder, a torchvision class without ``train``/``split``), from a seeded hold-out
of ``test_fraction`` of the images.

Nothing is downloaded unless a suite sets ``download: true``: a benchmark run must stay offline, and
a missing dataset is one clear error naming the folder searched and how to fill it.

Loading is lazy and decodes once. Building the dataset opens the files and decodes one image (for
the shape, which the model needs); a split's images are decoded on its first draw into one uint8
tensor (a quarter of float32's memory: CIFAR-10's 50,000 training images take 150 MiB), kept for the
process and shared by every trial with the same parameters. On a GPU that tensor moves to the device
once, so drawing a batch is an index on the device with no host transfer in the training step.
Splits larger than ``max_cached_mb`` are instead decoded from disk at every draw, which is slow (a
host round trip per batch) but needs no memory.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.datasets.folder import IMG_EXTENSIONS
from torchvision.transforms.v2 import functional as TF

from genbench.errors import GenbenchError

UINT8_HALF_RANGE = 127.5
#: PIL modes kept as one channel when ``channels`` is not given
GRAY_MODES = frozenset({"1", "L", "I", "I;16", "F"})


def to_uint8(image: Any, channels: int | None, size: int | None) -> torch.Tensor:
    """A decoded image (PIL, array or tensor) as uint8 (C, H, W), converted and resized."""
    if isinstance(image, Image.Image):
        gray = channels == 1 or (channels is None and image.mode in GRAY_MODES)
        image = image.convert("L" if gray else "RGB")
    tensor = TF.to_image(image).as_subclass(torch.Tensor)
    if tensor.dtype != torch.uint8:
        raise GenbenchError(f"images must decode to uint8 pixels, got {tensor.dtype}")
    if size is not None:
        tensor = TF.center_crop(TF.resize(tensor, [size], antialias=True), [size, size])
    return tensor.contiguous()


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels to float32 in [-1, 1]."""
    return images.to(torch.float32).div_(UINT8_HALF_RANGE).sub_(1)


class ImageSplit:
    """The images of one split; ``decode(i)`` gives image i as uint8 (C, H, W)."""

    def __init__(
        self, decode: Callable[[int], torch.Tensor], count: int, description: str, max_cached_mb: float
    ) -> None:
        if count == 0:
            raise GenbenchError(f"{description} holds no images")
        self.decode = decode
        self.count = count
        self.description = description
        self.shape = tuple(decode(0).shape)
        self.cached = count * math.prod(self.shape) <= max_cached_mb * 2**20
        self.on_device: dict[torch.device, torch.Tensor] = {}

    def checked(self, index: int) -> torch.Tensor:
        image = self.decode(index)
        if tuple(image.shape) != self.shape:
            raise GenbenchError(
                f"{self.description}: image {index} has shape {tuple(image.shape)}, the first has "
                f"{self.shape}; set 'size' to resize every image to one square size"
            )
        return image

    def in_memory(self, device: torch.device) -> torch.Tensor:
        """All images as one uint8 tensor on ``device``, decoded on the first call."""
        if device not in self.on_device:
            decoded = next(iter(self.on_device.values()), None)
            if decoded is None:
                decoded = torch.stack([self.checked(index) for index in range(self.count)])
            self.on_device[device] = decoded.to(device)
        return self.on_device[device]

    def images(self, index: torch.Tensor) -> torch.Tensor:
        """Images at ``index`` (on the device where they are wanted) as float32 in [-1, 1]."""
        if self.cached:
            return to_unit_range(self.in_memory(index.device)[index])
        decoded = torch.stack([self.checked(position) for position in index.tolist()])
        return to_unit_range(decoded.to(index.device))

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n images drawn uniformly with replacement, on the generator's device."""
        return self.images(torch.randint(self.count, (n,), generator=generator, device=generator.device))

    def draw_distinct(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n different images while the split has that many (duplicates in a reference set bias
        FID and k-NN metrics), with replacement beyond."""
        if n > self.count:
            return self.draw(n, generator)
        return self.images(torch.randperm(self.count, generator=generator, device=generator.device)[:n])


class ImageDataset:
    """Images in [-1, 1]: training draws from ``train``, references from the held-out ``test``."""

    mode_centres = None

    def __init__(self, train: ImageSplit, test: ImageSplit) -> None:
        if train.shape != test.shape:
            raise GenbenchError(
                f"images of shape {train.shape} in {train.description} but {test.shape} in "
                f"{test.description}; set 'size' to resize every image to one square size"
            )
        self.train, self.test = train, test
        self.shape = train.shape

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.train.draw(n, generator)

    def reference(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Held-out images, distinct while the test split has n of them."""
        return self.test.draw_distinct(n, generator)


def holdout(count: int, test_fraction: float, split_seed: int) -> tuple[list[int], list[int]]:
    """(train, test) indices: a seeded random ``test_fraction`` of ``count`` items held out."""
    if count < 2:
        raise GenbenchError(f"a hold-out split needs at least 2 images, found {count}")
    order = torch.randperm(count, generator=torch.Generator().manual_seed(split_seed))
    test_count = min(count - 1, max(1, round(count * test_fraction)))
    return sorted(order[test_count:].tolist()), sorted(order[:test_count].tolist())


def holdout_splits(
    decode: Callable[[int], torch.Tensor],
    count: int,
    description: str,
    test_fraction: float,
    split_seed: int,
    max_cached_mb: float,
) -> tuple[ImageSplit, ImageSplit]:
    train_index, test_index = holdout(count, test_fraction, split_seed)
    return (
        ImageSplit(
            lambda i: decode(train_index[i]), len(train_index), f"{description} (train)", max_cached_mb
        ),
        ImageSplit(
            lambda i: decode(test_index[i]), len(test_index), f"{description} (held out)", max_cached_mb
        ),
    )


def torchvision_class(name: str) -> type:
    import torchvision.datasets

    classes = [
        item for item in torchvision.datasets.__all__ if isinstance(getattr(torchvision.datasets, item), type)
    ]
    if name not in classes:
        close = difflib.get_close_matches(name, classes, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise GenbenchError(
            f"torchvision has no dataset class '{name}'.{hint} Allowed: {', '.join(sorted(classes))}"
        )
    return getattr(torchvision.datasets, name)


def split_argument(dataset_class: type, split: str) -> dict[str, Any] | None:
    """The constructor argument selecting ``split`` (``train=`` or ``split=``), None without one."""
    parameters = inspect.signature(dataset_class).parameters
    if "train" in parameters:
        if split not in ("train", "test"):
            raise GenbenchError(
                f"{dataset_class.__name__} has splits 'train' and 'test' (train=True/False), not '{split}'"
            )
        return {"train": split == "train"}
    if "split" in parameters:
        return {"split": split}
    return None


def open_torchvision(
    dataset_class: type, root: str, download: bool, arguments: dict[str, Any], what: str
) -> Any:
    """Construct the torchvision dataset, turning its "not found" into one actionable error."""
    name = dataset_class.__name__
    if download:
        if "download" not in inspect.signature(dataset_class).parameters:
            raise GenbenchError(f"torchvision cannot download {name}; put its files under {root} yourself")
        arguments = {**arguments, "download": True}
    try:
        return dataset_class(root, **arguments)
    except (TypeError, ValueError) as error:
        raise GenbenchError(
            f"torchvision dataset {name} rejected its arguments {arguments}: {error}"
        ) from error
    except (RuntimeError, OSError) as error:
        raise GenbenchError(
            f"torchvision dataset {name} ({what}) was not found in {root} ({error}). Put its files there "
            f"in the layout torchvision.datasets.{name} expects, or set 'download: true' in the "
            f"dataset's params once on a machine with internet access (and copy {root} to offline ones)"
        ) from error


@lru_cache(maxsize=2)
def torchvision_splits(
    name: str,
    root: str,
    download: bool,
    size: int | None,
    channels: int | None,
    train_split: str,
    test_split: str,
    options_json: str,
    test_fraction: float,
    split_seed: int,
    max_cached_mb: float,
) -> tuple[ImageSplit, ImageSplit]:
    """Train and test splits, cached so that every trial of a process shares the decoded images."""
    dataset_class = torchvision_class(name)
    options = json.loads(options_json)

    def decoder(dataset: Any) -> Callable[[int], torch.Tensor]:
        def decode(index: int) -> torch.Tensor:
            item = dataset[index]
            return to_uint8(item[0] if isinstance(item, tuple) else item, channels, size)

        return decode

    train_argument = split_argument(dataset_class, train_split)
    if train_argument is None:
        dataset = open_torchvision(dataset_class, root, download, options, "it has no split")
        description = f"{name} in {root}"
        return holdout_splits(
            decoder(dataset), len(dataset), description, test_fraction, split_seed, max_cached_mb
        )
    splits = []
    for split in (train_split, test_split):
        arguments = {**split_argument(dataset_class, split), **options}
        dataset = open_torchvision(dataset_class, root, download, arguments, f"split '{split}'")
        description = f"{name} split '{split}' in {root}"
        splits.append(ImageSplit(decoder(dataset), len(dataset), description, max_cached_mb))
    return splits[0], splits[1]


class TorchvisionDataset(ImageDataset):
    """Any ``torchvision.datasets`` class (CIFAR10, MNIST, FashionMNIST, CelebA, SVHN, ...) read
    from a local ``root``; ``download`` lets torchvision fetch missing files (needs internet)."""

    def __init__(
        self,
        name: str,
        root: str,
        download: bool,
        size: int | None,
        channels: int | None,
        train_split: str,
        test_split: str,
        options: dict[str, Any],
        test_fraction: float,
        split_seed: int,
        max_cached_mb: float,
    ) -> None:
        splits = torchvision_splits(
            name,
            root,
            download,
            size,
            channels,
            train_split,
            test_split,
            json.dumps(options, sort_keys=True),
            test_fraction,
            split_seed,
            max_cached_mb,
        )
        super().__init__(*splits)


def image_files(root: str) -> list[Path]:
    folder = Path(root)
    if not folder.is_dir():
        raise GenbenchError(f"no folder at {root}: image_folder reads every image file under it")
    files = sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMG_EXTENSIONS)
    if not files:
        raise GenbenchError(f"no image files ({' '.join(IMG_EXTENSIONS)}) under {root}")
    return files


@lru_cache(maxsize=2)
def image_folder_splits(
    root: str,
    size: int | None,
    channels: int,
    test_fraction: float,
    split_seed: int,
    max_cached_mb: float,
) -> tuple[ImageSplit, ImageSplit]:
    files = image_files(root)

    def decode(index: int) -> torch.Tensor:
        try:
            with Image.open(files[index]) as image:
                return to_uint8(image, channels, size)
        except (UnidentifiedImageError, OSError) as error:
            raise GenbenchError(f"cannot decode image {files[index]}: {error}") from error

    return holdout_splits(decode, len(files), f"images in {root}", test_fraction, split_seed, max_cached_mb)


class ImageFolderDataset(ImageDataset):
    """Every image file under ``root`` (recursively, sorted by path), with a seeded hold-out split."""

    def __init__(
        self,
        root: str,
        size: int | None,
        channels: int,
        test_fraction: float,
        split_seed: int,
        max_cached_mb: float,
    ) -> None:
        super().__init__(*image_folder_splits(root, size, channels, test_fraction, split_seed, max_cached_mb))
