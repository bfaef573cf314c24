"""ImageNet from a local directory, decoded batch by batch (`data.dataset: imagenet`).

Layout (what the usual extraction scripts leave): `<root>/train/<wnid>/*.JPEG` and
`<root>/val/<wnid>/*.JPEG`; the classes are the sorted class directories of `train/`. The 1.28 M
training images do not fit in memory as tensors, so a split holds file paths and `FolderImages`
decodes the images of each batch when it is indexed (Pillow, `threads` decoding threads): resize the
shorter side to 256/224 of the output size, centre crop to 224x224 (the usual evaluation
transform; training adds the pad-crop and flip of `naslid.data.batches`, not RandomResizedCrop).
As for NB201's other test-only sets, validation and test are the two halves of `val/`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from naslid.errors import DataError

SIZE = 224
EXTENSIONS = {".jpeg", ".jpg", ".png"}


class FolderImages:
    """A (n, 3, 224, 224) uint8 'tensor' of image files: indexing decodes those images."""

    def __init__(self, paths: list[Path], threads: int = 8):
        self.paths, self.threads = list(paths), threads

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.paths), 3, SIZE, SIZE)

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, index) -> FolderImages:
        """The images at `index`, still undecoded."""
        return FolderImages([self.paths[int(i)] for i in index], self.threads)

    def __getitem__(self, index) -> torch.Tensor:
        """Decode the images at `index`: an index tensor (batches), an int or a slice (`images[:128]`)."""
        if isinstance(index, slice):
            index = list(range(len(self.paths)))[index]
        paths = [self.paths[int(i)] for i in torch.as_tensor(index).reshape(-1)]
        with ThreadPoolExecutor(self.threads) as pool:  # Pillow releases the GIL while it decodes
            return torch.from_numpy(np.stack(list(pool.map(decode, paths))))


def decode(path: Path) -> np.ndarray:
    """One image as (3, 224, 224) uint8: shorter side to 256, centre crop 224 (scaled alike)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            short = round(SIZE * 256 / 224)
            scale = short / min(image.size)
            image = image.resize(
                (max(SIZE, round(image.width * scale)), max(SIZE, round(image.height * scale))), Image.BILINEAR
            )
            left, top = (image.width - SIZE) // 2, (image.height - SIZE) // 2
            image = image.crop((left, top, left + SIZE, top + SIZE))
            return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()
    except OSError as err:
        raise DataError(f"image {path} cannot be decoded ({err}); re-extract the dataset or remove the file") from None


def folder_split(directory: Path, classes: list[str]) -> tuple[list[Path], torch.Tensor]:
    """Paths and labels of every image under `directory/<class>/`."""
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = (
            sorted(p for p in (directory / name).glob("*") if p.suffix.lower() in EXTENSIONS)
            if (directory / name).is_dir()
            else []
        )
        paths += files
        labels += [label] * len(files)
    if not paths:
        raise DataError(f"no images under {directory}/<class>/ (.JPEG, .jpg or .png); check data.root")
    return paths, torch.tensor(labels, dtype=torch.int64)


def class_names(train: Path) -> list[str]:
    classes = sorted(p.name for p in train.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{train} holds no class directories; expected {train}/<wnid>/*.JPEG")
    return classes
