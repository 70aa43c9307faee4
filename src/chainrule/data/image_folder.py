"""A folder of images, one subfolder per class, as torchvision's ``ImageFolder`` reads it.

    root/cat/001.jpg          classes = ["cat", "dog"]        (sorted folder names)
    root/cat/more/002.png     class_to_idx = {"cat": 0, "dog": 1}
    root/dog/003.JPEG         samples = [(".../cat/001.jpg", 0), (".../cat/more/002.png", 0),
                                         (".../dog/003.JPEG", 1)]

Files are found at any depth below a class folder (folders walked in sorted order, following
links) and kept when their name ends, in any case, with one of :data:`IMG_EXTENSIONS`.

Hidden names (starting with ``.``) count as torchvision counts them, so class indices match a
model trained with torchvision: a ``.ipynb_checkpoints`` folder is a class, and macOS's
``._photo.jpg`` is a sample (which then fails to decode). ``skip_hidden=True`` leaves hidden
folders out of the classes and hidden files and folders out of the samples.

When bad files are found: by default construction only lists names (as fast as torchvision on
a million files) and a file that cannot be decoded raises :class:`DataError` naming it when its
sample is loaded. With ``skip_bad=True`` construction decodes every file once, drops those that
fail with one warning (the list is kept in ``skipped``), so an epoch never meets them; that
costs one full decode of the folder up front.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Callable

from .dataset import Dataset
from .errors import DataError

__all__ = ["ImageFolder", "IMG_EXTENSIONS", "find_classes", "make_dataset", "pil_loader",
           "has_file_allowed_extension"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def _pillow():
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError("ImageFolder needs Pillow to decode images; install it with "
                          "pip install 'chainrule[images]'") from err
    return Image


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    """Whether ``filename`` ends with one of ``extensions``, ignoring case."""
    exts = (extensions,) if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(tuple(e.lower() for e in exts))


def find_classes(directory: str | os.PathLike, skip_hidden: bool = False
                 ) -> tuple[list[str], dict[str, int]]:
    """The class names (the sorted names of ``directory``'s subfolders, without those whose
    name starts with ``.`` when ``skip_hidden``) and ``{name: index}``."""
    root = os.fspath(directory)
    if not os.path.isdir(root):
        raise DataError(root, "ImageFolder: no such folder" if not os.path.exists(root)
                        else "ImageFolder: not a folder")
    classes = sorted(e.name for e in os.scandir(root)
                     if e.is_dir() and not (skip_hidden and e.name.startswith(".")))
    if not classes:
        raise DataError(root, "ImageFolder: no class folders found (expected one subfolder "
                              "per class, such as root/cat/001.jpg)")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int],
                 extensions: tuple[str, ...] | None = IMG_EXTENSIONS,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False, skip_hidden: bool = False
                 ) -> list[tuple[str, int]]:
    """``(path, class_index)`` for every kept file below each class folder, classes in sorted
    order and files in sorted walk order. Keep a file by ``extensions`` or by
    ``is_valid_file(path)`` (not both). A class with no file is an error unless
    ``allow_empty``; ``skip_hidden`` leaves out files and folders whose name starts with
    ``.``."""
    root = os.path.expanduser(os.fspath(directory))
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("make_dataset: pass exactly one of extensions and is_valid_file")
    if is_valid_file is None:
        def is_valid_file(path: str) -> bool:
            return has_file_allowed_extension(path, extensions)
    samples: list[tuple[str, int]] = []
    for name in sorted(class_to_idx, key=class_to_idx.__getitem__):
        class_dir = os.path.join(root, name)
        if not os.path.isdir(class_dir):
            raise DataError(class_dir, "ImageFolder: class folder is missing")
        found = 0
        for folder, subfolders, files in sorted(os.walk(class_dir, followlinks=True)):
            if skip_hidden and any(part.startswith(".") for part in
                                   os.path.relpath(folder, class_dir).split(os.sep)
                                   if part != "."):
                continue
            for fname in sorted(files):
                path = os.path.join(folder, fname)
                if not (skip_hidden and fname.startswith(".")) and is_valid_file(path):
                    samples.append((path, class_to_idx[name]))
                    found += 1
        if found == 0 and not allow_empty:
            kinds = ", ".join(extensions) if extensions is not None else "is_valid_file"
            raise DataError(class_dir, f"ImageFolder: class {name!r} has no image files "
                                       f"(looked for {kinds}, in any case and at any depth); "
                                       f"pass allow_empty=True to keep an empty class")
    return samples


def pil_loader(path: str) -> Any:
    """Decode ``path`` with Pillow and convert to RGB (grayscale is repeated over three
    channels, alpha dropped, palettes expanded), as torchvision's default loader does; a file
    Pillow cannot decode raises :class:`DataError` naming it."""
    Image = _pillow()
    try:
        with open(path, "rb") as f:
            img = Image.open(f)
            return img.convert("RGB")
    except FileNotFoundError as err:
        raise DataError(path, "ImageFolder: the file disappeared since the folder was "
                              "listed") from err
    except Exception as err:  # Pillow raises OSError, SyntaxError, ValueError, bomb errors
        raise DataError(path, f"ImageFolder: cannot decode as an image "
                              f"({type(err).__name__}: {err})") from err


class ImageFolder(Dataset):
    """Images in ``root/<class>/**/<file>``; ``ds[i]`` is ``(transform(image),
    target_transform(class_index))`` with the image decoded by ``loader`` (default: Pillow, RGB;
    without a transform it is a Pillow image, as in torchvision).

    Attributes as torchvision's: ``classes``, ``class_to_idx``, ``samples`` (``imgs``),
    ``targets``, ``root``, ``extensions``; and ``skipped``: ``(path, reason)`` of the files
    ``skip_bad=True`` dropped. By default a bad file is found when loaded (a DataError naming
    it); ``skip_bad=True`` (keyword only) decodes everything once at construction instead.
    ``skip_hidden=True`` (keyword only) ignores names starting with ``.`` (see the module).
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, loader: Callable | None = None,
                 is_valid_file: Callable[[str], bool] | None = None, allow_empty: bool = False,
                 *, skip_bad: bool = False, skip_hidden: bool = False):
        for name, fn in (("transform", transform), ("target_transform", target_transform),
                         ("loader", loader), ("is_valid_file", is_valid_file)):
            if fn is not None and not callable(fn):
                raise TypeError(f"ImageFolder: {name} must be callable, got "
                                f"{type(fn).__name__}")
        self.root = os.fspath(root)
        self.transform, self.target_transform = transform, target_transform
        self.loader = loader if loader is not None else pil_loader
        self.extensions = IMG_EXTENSIONS if is_valid_file is None else None
        self.classes, self.class_to_idx = find_classes(self.root, skip_hidden)
        samples = make_dataset(self.root, self.class_to_idx, self.extensions, is_valid_file,
                               allow_empty, skip_hidden)
        self.skipped: list[tuple[str, str]] = []
        if skip_bad:
            samples = self._drop_bad(samples, allow_empty)
        self.samples = samples
        self.imgs = self.samples
        self.targets = [target for _, target in samples]

    def _drop_bad(self, samples: list[tuple[str, int]], allow_empty: bool
                  ) -> list[tuple[str, int]]:
        """Decode each file once; keep those that decode, warn once about the rest."""
        kept = []
        for path, target in samples:
            try:
                self.loader(path)
            except Exception as err:  # a bad file, whatever the loader raises for it
                self.skipped.append((path, str(err)))
            else:
                kept.append((path, target))
        if self.skipped:
            shown = ", ".join(p for p, _ in self.skipped[:3])
            more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
            warnings.warn(f"ImageFolder({self.root!r}): skipped {len(self.skipped)} file(s) "
                          f"that could not be decoded: {shown}{more} (see .skipped)",
                          stacklevel=3)
            left = {t for _, t in kept}
            emptied = [c for c, i in self.class_to_idx.items() if i not in left]
            if emptied and not allow_empty:
                raise DataError(self.root, f"ImageFolder: no decodable image left in class "
                                           f"folder(s) {emptied} after skip_bad")
        return kept

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        try:
            path, target = self.samples[index]
        except TypeError:
            raise TypeError(f"ImageFolder: index must be an integer, got "
                            f"{type(index).__name__}") from None
        except IndexError:
            raise IndexError(f"ImageFolder: index {index} is out of range for {len(self)} "
                             f"images") from None
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={self.root!r}, {len(self)} images, "
                f"{len(self.classes)} classes)")
