"""Datasets: where they live, how they are read, and how they are fetched when missing.

Each split is read once into a uint8 tensor of shape (N, C, H, W) plus int64 labels. Nothing
here transforms single samples: normalisation happens on the device, a whole batch at a time
(see `engine.normalize`).

The folder layout is torchvision's, so a data root that torchvision has already filled is
reused as it is:

    ROOT/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
    ROOT/FashionMNIST/raw/...            (same names)
    ROOT/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import math
import pickle
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision.datasets as tvd
from torchvision.datasets.utils import calculate_md5, download_and_extract_archive

from lenetcli.config import (
    DATA_DIR_ENV,
    DATASET_NAMES,
    MIRROR_ENV,
    SEVERAL,
    RunOptions,
    TrainConfig,
    default_data_dir,
)
from lenetcli.errors import LenetError, one_line, unknown_choice

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
CIFAR_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class DatasetSpec:
    """What the tool knows about one dataset: its shape, classes, statistics and sources."""

    name: str
    title: str
    folder: str  # torchvision's folder under the data root
    channels: int
    size: int
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train_size: int
    test_size: int
    # Official sources, taken from torchvision so that URLs and MD5 sums stay theirs.
    mirrors: tuple[str, ...] = ()
    resources: tuple[tuple[str, str], ...] = ()  # (archive file name, md5)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "MNIST", "MNIST", 1, 28, DIGIT_CLASSES, (0.1307,), (0.3081,), 60000, 10000,
        tuple(tvd.MNIST.mirrors), tuple(tuple(r) for r in tvd.MNIST.resources),
    ),
    "fashion-mnist": DatasetSpec(
        "fashion-mnist", "Fashion-MNIST", "FashionMNIST", 1, 28, FASHION_CLASSES,
        (0.2860,), (0.3530,), 60000, 10000,
        tuple(tvd.FashionMNIST.mirrors), tuple(tuple(r) for r in tvd.FashionMNIST.resources),
    ),
    "cifar10": DatasetSpec(
        "cifar10", "CIFAR-10", tvd.CIFAR10.base_folder, 3, 32, CIFAR_CLASSES,
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), 50000, 10000,
        (tvd.CIFAR10.url.rsplit("/", 1)[0] + "/",),
        ((tvd.CIFAR10.filename, tvd.CIFAR10.tgz_md5),),
    ),
    # scikit-learn's bundled 8x8 digits, upscaled to 28x28: runs with no download at all.
    "digits": DatasetSpec(
        "digits", "Digits (scikit-learn 8x8)", "", 1, 28, DIGIT_CLASSES,
        (0.3054,), (0.3247,), 1437, 360,
    ),
}  # fmt: skip
assert tuple(DATASETS) == DATASET_NAMES, "config.DATASET_NAMES lists the datasets described here"


def dataset_title(name: str) -> str:
    """A dataset's title for text and figures ("Fashion-MNIST"); a name lenet does not know
    (read from another program's file) as it is."""
    return DATASETS[name].title if name in DATASETS else name


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}


@dataclass(frozen=True)
class Split:
    """One split of a dataset, held whole in memory."""

    images: torch.Tensor  # uint8, (N, C, H, W)
    labels: torch.Tensor  # int64, (N,)
    indices: torch.Tensor  # int64, (N,): positions in the full split (differ under subsets)

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device) -> Split:
        return Split(self.images.to(device), self.labels.to(device), self.indices.to(device))


@dataclass(frozen=True)
class Dataset:
    spec: DatasetSpec
    train: Split
    test: Split
    source: str  # the folder the files were read from ("scikit-learn" for digits)
    val: Split | None = None  # held out of the training images (--val-split), else None


def get_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise unknown_choice("dataset", name, DATASETS, SEVERAL)
    return DATASETS[name]


def load_dataset(
    name: str,
    root: Path | None = None,
    download: bool = True,
    train_subset: int | None = None,
    test_subset: int | None = None,
    quiet: bool = False,
    val_split: float = 0.0,
    mirror: str | None = None,
) -> Dataset:
    """Read both splits of a dataset (fetching missing files if allowed, from mirror if given:
    a checked base URL, see RunOptions.download_mirror), take subsets, then hold out the
    validation images from the training ones."""
    spec = get_spec(name)
    root = Path(root).expanduser() if root is not None else default_data_dir()
    if spec.name == "digits":
        train, test = read_digits()
        source = "scikit-learn (bundled)"
    else:
        ensure_files(spec, root, download, quiet, mirror)
        read = read_cifar_split if spec.name == "cifar10" else read_idx_split
        folder = root / spec.folder
        train, test = read(spec, folder, "train"), read(spec, folder, "test")
        source = str(folder.resolve())
    try:
        train = stratified_subset(train, train_subset, "--train-subset")
        test = stratified_subset(test, test_subset, "--test-subset")
        train, val = validation_split(train, val_split)
    except LenetError as exc:  # a command may read several datasets: say which one
        raise LenetError(f"{spec.name}: {exc}") from None
    return Dataset(spec, train, test, source, val)


# --------------------------------------------------------------------------- subsets


def stratified_subset(split: Split, n: int | None, option: str) -> Split:
    """A deterministic, class-balanced subset of n samples (the whole split when n is None)."""
    if n is None or n == len(split):
        return split
    n_classes = int(split.labels.max()) + 1
    if n < n_classes or n > len(split):
        raise LenetError(subset_out_of_range(option, n, len(split), n_classes))
    return take(split, stratified_order(split.labels)[:n])


def check_subset(dataset: str, split: str, n: int | None, option: str) -> None:
    """Refuse a subset of n images of a dataset's "train" or "test" split that
    stratified_subset would refuse once the images are loaded, from the sizes known before any
    file is read: so that a study (a dry run too) refuses it before it writes anything."""
    spec = get_spec(dataset)
    size = spec.train_size if split == "train" else spec.test_size
    if n is not None and not len(spec.classes) <= n <= size:
        raise LenetError(
            subset_out_of_range(
                option, n, size, len(spec.classes), f" for the {split} split of {spec.name}"
            )
        )


SUBSETS = {"train_subset": "train", "test_subset": "test"}  # a config's field: its split


def check_subsets(config: TrainConfig, datasets, fields, name: Callable[[str], str]) -> None:
    """check_subset of the subsets (of fields) that config takes of each dataset; name(field)
    names the value (--train-subset; a study file's key; the profile's)."""
    for dataset in datasets:
        for field in fields:
            check_subset(dataset, SUBSETS[field], getattr(config, field), name(field))


def subset_out_of_range(option: str, n: int, size: int, classes: int, which: str = "") -> str:
    return (
        f"{option} {n} is out of range{which}: the split has {size} samples and {classes} "
        f"classes; choose a size from {classes} to {size}"
    )


def validation_split(split: Split, fraction: float) -> tuple[Split, Split | None]:
    """The training images left, and the share `fraction` of them held out for validation
    (None when 0). Stratified (scikit-learn's train_test_split: every class in proportion to
    its share) with a fixed seed, so that every run and setting of a study is validated on
    the same images, and the images left keep the class proportions too."""
    if fraction == 0:
        return split, None
    from sklearn.model_selection import train_test_split  # late: a second to import

    labels = split.labels.numpy()
    n, n_val = len(labels), validation_size(len(labels), fraction)
    counts = np.bincount(labels)
    if counts.min() < 2:
        raise LenetError(
            f"the {n} training images are too few to hold out validation images: every class "
            f"needs 2 at least, and one has {counts.min()}; use a larger --train-subset or "
            "no --val-split"
        )
    k = len(counts)
    if not k <= n_val <= n - k:
        raise LenetError(
            f"--val-split {fraction} would hold out {n_val} of {n} training images; the "
            f"validation and the training images need one of each of the {k} classes at "
            f"least: choose a fraction from {three_digits(k / n, up=True)} to "
            f"{three_digits(1 - k / n, up=False)}"
        )
    kept, held = train_test_split(np.arange(n), test_size=n_val, stratify=labels, random_state=0)
    if not all_classes(labels[kept], labels[held], n_classes=k):  # a very rare class
        raise LenetError(
            f"--val-split {fraction} leaves a class out of the validation or the training "
            "images; choose a fraction nearer 0.5"
        )
    return take(split, kept), take(split, held)


def validation_size(n: int, fraction: float) -> int:
    """How many of n training images --val-split holds out."""
    return round(fraction * n)


def three_digits(x: float, up: bool) -> float:
    """x to three significant digits, rounded up or down: a bound that stays inside."""
    scale = 10.0 ** (2 - math.floor(math.log10(x)))
    return (math.ceil if up else math.floor)(x * scale) / scale


def all_classes(*label_sets: np.ndarray, n_classes: int) -> bool:
    return all(len(np.unique(labels)) == n_classes for labels in label_sets)


def stratified_order(labels: torch.Tensor) -> np.ndarray:
    """Positions of all samples, round-robin over the classes, each class in a fixed shuffled
    order: any first n of them hold n/K samples of every class (within one, while the class
    lasts), and the same labels always give the same order."""
    rng = np.random.default_rng(0)
    labels = labels.numpy()
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(labels.max() + 1)]
    rank = np.empty(len(labels), dtype=np.int64)
    for members in per_class:
        rank[members] = np.arange(len(members))
    return np.lexsort((labels, rank))  # by rank within class, then by class


def take(split: Split, positions: np.ndarray) -> Split:
    """The samples at positions, in their original order."""
    chosen = torch.from_numpy(np.sort(positions))
    return Split(split.images[chosen], split.labels[chosen], split.indices[chosen])


# --------------------------------------------------------------------------- finding files


def expected_files(spec: DatasetSpec, root: Path) -> list[Path]:
    folder = root / spec.folder
    if spec.name == "cifar10":
        names = [*CIFAR_FILES["train"], *CIFAR_FILES["test"]]
    else:
        names = [*IDX_FILES["train"], *IDX_FILES["test"]]
        folder = folder / "raw"
    return [folder / name for name in names]


def missing_files(spec: DatasetSpec, root: Path) -> list[Path]:
    """The dataset's files that are not under root (none for the digits: scikit-learn has them)."""

    def present(path: Path) -> bool:
        # IDX files may be kept gzipped, as torchvision downloads them.
        return path.is_file() or (
            spec.name != "cifar10" and path.with_name(path.name + ".gz").is_file()
        )

    if not spec.folder:
        return []
    return [path for path in expected_files(spec, root) if not present(path)]


def check_data_folder(root: Path) -> None:
    """The data folder is a folder, or can become one: not a file, nor inside one (the
    download would fail on each mirror with 'Not a directory')."""
    # a dangling link counts as what it is: no folder
    existing = next(
        p for p in [root, *root.parents] if p.exists() or p.is_symlink() or p == p.parent
    )
    if not existing.is_dir():
        raise LenetError(
            f"the data folder {root} cannot be a folder: {existing} is a file; choose a "
            f"folder with --data-dir or ${DATA_DIR_ENV}"
        )


def files_to_download(names: list[str], root: Path, download: bool) -> list[str]:
    """For a dry run: the titles of the datasets whose files a run would download first. Where
    downloads are off, a missing file is the error the run would stop with (ensure_files')."""
    fetch = []
    for spec in [get_spec(name) for name in dict.fromkeys(names)]:
        if not download:
            ensure_files(spec, root, download=False)  # raises where a file is missing
        elif missing_files(spec, root):
            check_data_folder(root)
            fetch.append(spec.title)
    return fetch


def ensure_files(
    spec: DatasetSpec, root: Path, download: bool, quiet: bool = False, mirror: str | None = None
) -> None:
    """Make sure every file of the dataset is under root, downloading them if allowed.

    The folders a download creates and leaves empty (nothing came, or what came failed its
    check) are removed again: an empty MNIST/raw/ would only puzzle the user.
    """
    if not missing_files(spec, root):
        return
    check_data_folder(root)
    reason = "downloads are off (--no-download)"
    if download:
        created = new_folders(download_folder(spec, root))
        try:
            download_dataset(spec, root, quiet, mirror)
            reason = "the download did not provide them"
        except Exception as exc:  # any network or checksum failure ends in the same advice
            reason = f"the download failed ({one_line(exc)})"
        if missing_files(spec, root):
            remove_empty(created)
    if missing := missing_files(spec, root):  # again: some files may have come
        names = ", ".join(p.name for p in missing)
        gz = "" if spec.name == "cifar10" else " (IDX files may be .gz)"
        raise LenetError(
            f"{spec.title} files missing in {missing[0].parent}: {names}; {reason}. Place the "
            f"files there in torchvision's layout{gz}, choose another folder with --data-dir "
            f"or ${DATA_DIR_ENV}, or download from a mirror with --mirror URL or "
            f"${MIRROR_ENV}; --dataset digits works with no network"
        )


def official_cifar_files(folder: Path) -> bool:
    """Whether the CIFAR-10 batches in folder are the official files, by torchvision's MD5
    sums of them. A copy that is not (one decoded from a JPEG rendition, say) holds other
    pixels than the original's, and gives a little other accuracies."""
    return official_cifar_folder(str(Path(folder).resolve()))


@functools.lru_cache(maxsize=16)
def official_cifar_folder(folder: str) -> bool:
    """official_cifar_files, once per folder and process: a report asks of every table and
    figure, and the sums read 180 MB."""
    from torchvision.datasets.utils import check_integrity

    listed = [*tvd.CIFAR10.test_list, *tvd.CIFAR10.train_list]
    return all(check_integrity(str(Path(folder) / name), md5) for name, md5 in listed)


# What a reader must know beside every number and figure of CIFAR-10 read from files that are
# not the official ones (unofficial_copy decides which): worded here only.
COPY_SUFFIX = "(unofficial copy)"  # after the dataset's title in a figure's title
COPY_NOTE = (
    "CIFAR-10 from an unofficial copy (not the official files; e.g. JPEG-decoded): accuracy "
    "may run a little below what the original files give"
)


def unofficial_copy(dataset: str | None, source: str | Path | None) -> bool:
    """Whether a dataset read from source (a Dataset's, or config.json's `data.source`) is
    CIFAR-10 from files that are not the official ones, by official_cifar_files: the one test
    of where the note (COPY_NOTE, COPY_SUFFIX) goes. A folder that is no longer there is
    not taken for a copy: nothing can tell."""
    if dataset != "cifar10" or not isinstance(source, (str, Path)) or not str(source):
        return False
    folder = Path(source)
    return folder.is_dir() and not official_cifar_files(folder)


def recorded_copies(data: dict | None) -> set[str]:
    """The datasets of a config.json's `data` (one dataset's record, or several under
    `datasets`) that unofficial_copy marks."""
    data = data if isinstance(data, dict) else {}
    parts = data.get("datasets", [data])
    return {
        d["dataset"]
        for d in (parts if isinstance(parts, list) else [])
        if isinstance(d, dict) and unofficial_copy(d.get("dataset"), d.get("source"))
    }


def shown_title(dataset: str, copy: bool) -> str:
    """A dataset's title for a figure: dataset_title, with COPY_SUFFIX where copy (the data
    is an unofficial_copy)."""
    return f"{dataset_title(dataset)} {COPY_SUFFIX}" if copy else dataset_title(dataset)


def data_title(data: Dataset) -> str:
    """shown_title of the dataset read: for the figures of a command that read it."""
    return shown_title(data.spec.name, unofficial_copy(data.spec.name, data.source))


def copy_note() -> str:
    """COPY_NOTE as a sentence of its own."""
    return f"Note: {COPY_NOTE}."


def with_note(text: str, copy: bool) -> str:
    """A caption or sentence with copy_note after it, where copy: the text shows CIFAR-10 from
    an unofficial copy."""
    return f"{text.rstrip('.')}. {copy_note()}" if copy else text


def download_folder(spec: DatasetSpec, root: Path) -> Path:
    """Where a dataset's archives are downloaded: MNIST/raw/ (unpacked there too), or the
    root itself for CIFAR-10, whose archive holds the folder cifar-10-batches-py."""
    return root if spec.name == "cifar10" else root / spec.folder / "raw"


def new_folders(folder: Path) -> list[Path]:
    """folder and those of its parents that do not exist yet, deepest first."""
    created = []
    while not (folder.exists() or folder.is_symlink()) and folder != folder.parent:
        created.append(folder)
        folder = folder.parent
    return created


def remove_empty(folders: list[Path]) -> None:
    """Remove the folders given (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (a file came after all), or not ours to remove
            return


def mirror_url(mirror: str, spec: DatasetSpec, root: Path, filename: str) -> str:
    """A file's URL on a mirror: its path under the data folder, after the mirror's base URL.
    A mirror is thus any data folder lenet has downloaded into, served over HTTP: it keeps
    the archives (MNIST/raw/train-images-idx3-ubyte.gz, cifar-10-python.tar.gz)."""
    relative = download_folder(spec, root).relative_to(root).as_posix()
    return mirror + ("" if relative == "." else relative + "/") + filename


def download_dataset(
    spec: DatasetSpec, root: Path, quiet: bool = False, mirror: str | None = None
) -> None:
    """Fetch the official archives with torchvision's utilities, from the official hosts or
    from mirror, checking their MD5 sums either way.

    A file that fails its check is deleted: left behind, it would be read next time.
    """
    target = download_folder(spec, root)
    extract = target if spec.name != "cifar10" else root
    for filename, md5 in spec.resources:
        if mirror is None:
            urls = [base + filename for base in spec.mirrors]
        else:
            urls = [mirror_url(mirror, spec, root, filename)]
        errors = []
        for url in urls:
            if not quiet:
                print(f"Downloading {url} into {target}", file=sys.stderr)
            # torchvision's progress bar: on a terminal only, and never with --quiet
            hush = quiet or not sys.stderr.isatty()
            try:
                with (
                    contextlib.redirect_stderr(io.StringIO()) if hush else contextlib.nullcontext()
                ):
                    download_and_extract_archive(
                        url, download_root=target, extract_root=extract, filename=filename,
                        md5=md5,
                    )  # fmt: skip
                break
            except Exception as exc:
                errors.append(f"{url}: {download_failure(target / filename, md5, exc)}")
        else:
            raise OSError("; ".join(errors))


def download_failure(path: Path, md5: str, exc: Exception) -> str:
    """Why a download failed; a file that arrived but fails its MD5 check is deleted."""
    if not path.is_file():
        return one_line(exc)
    actual = calculate_md5(path)
    path.unlink()
    if actual != md5:
        return f"MD5 {actual}, expected {md5}: not the official file (deleted)"
    return f"{one_line(exc)} (the file was deleted)"


# --------------------------------------------------------------------------- readers


def read_idx_split(spec: DatasetSpec, folder: Path, split: str) -> Split:
    image_file, label_file = (stored(folder / "raw" / name) for name in IDX_FILES[split])
    expected = spec.train_size if split == "train" else spec.test_size
    images = read_idx(image_file, magic=2051, shape=(expected, spec.size, spec.size))
    labels = read_idx(label_file, magic=2049, shape=(expected,))
    if labels.max() >= len(spec.classes):
        raise LenetError(
            f"damaged file {label_file}: expected {expected} labels below {len(spec.classes)}; "
            f"delete it to download it again"
        )
    return make_split(images[:, None], labels)


def stored(path: Path) -> Path:
    """An IDX file as it is stored: plain, or gzipped as torchvision downloads it."""
    return path if path.is_file() else path.with_name(path.name + ".gz")


# The largest IDX file of any dataset here, MNIST's training images (60000 x 28 x 28), with
# room to spare: the most read_idx reads when no shape is asked for.
MAX_IDX_BYTES = 64 * 2**20


def read_idx(path: Path, magic: int, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Read an IDX file (plain or .gz): big-endian magic, dimension sizes, then uint8 data.

    The header says how much data follows, and no more than that (and one byte, to tell a
    file that is too long) is ever read or decompressed: a damaged or hostile file that goes
    on, or a small gzip that inflates to gigabytes, costs no more memory than a valid file.
    shape: what a valid file holds (a header saying otherwise is refused before any data is
    read); without it, the data may not exceed MAX_IDX_BYTES.
    """
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            dims = idx_dims(path, f, magic)
            size = math.prod(dims)
            if shape is not None and dims != shape:
                raise LenetError(
                    f"damaged file {path}: holds {idx_content(dims)}, expected "
                    f"{idx_content(shape)}; delete it to download it again"
                )
            if size > MAX_IDX_BYTES:
                raise LenetError(
                    f"damaged file {path}: its header promises {size} bytes of data, more than "
                    f"any dataset here holds; delete it to download it again"
                )
            raw = f.read(size + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise LenetError(
            f"damaged file {path}: {one_line(exc)}; delete it to download it again"
        ) from None
    if len(raw) != size:
        what = (
            f"truncated ({len(raw)} bytes of data, header says {size})"
            if len(raw) < size
            else f"too long (more than the {size} bytes of data its header says)"
        )
        raise LenetError(f"damaged file {path}: {what}; delete it to download it again")
    return np.frombuffer(raw, dtype=np.uint8).reshape(dims)


def idx_dims(path: Path, f, magic: int) -> tuple[int, ...]:
    """The dimension sizes in an IDX header, read from f; a one-line error for a wrong magic
    number or a header cut short."""
    head = f.read(4)
    found = int.from_bytes(head, "big") if len(head) == 4 else "nothing"
    if found != magic:
        raise LenetError(
            f"damaged file {path}: magic number {found}, expected {magic}; "
            f"delete it to download it again"
        )
    ndim = magic & 0xFF  # the magic number's last byte
    sizes = f.read(4 * ndim)
    if len(sizes) != 4 * ndim:
        raise LenetError(
            f"damaged file {path}: truncated (its header ends after {4 + len(sizes)} bytes); "
            f"delete it to download it again"
        )
    return tuple(int(d) for d in np.frombuffer(sizes, dtype=">u4"))


def idx_content(dims: tuple[int, ...]) -> str:
    """'images of shape (10000, 28, 28)' or '10000 labels', for messages."""
    return f"{dims[0]} labels" if len(dims) == 1 else f"images of shape {dims}"


class _BatchUnpickler(pickle.Unpickler):
    """Reads CIFAR-10 batches without letting the file run code: only numpy arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


# A CIFAR-10 batch of 10,000 images is 31 MB (the pixels, labels and file names); a file
# larger than this is no batch, and is not read further.
MAX_CIFAR_BATCH_BYTES = 48 * 2**20


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CIFAR_BATCH_BYTES + 1)
    except OSError as exc:
        raise LenetError(
            f"damaged file {path}: {one_line(exc)}; delete it to download it again"
        ) from None
    if len(raw) > MAX_CIFAR_BATCH_BYTES:
        raise LenetError(
            f"damaged file {path}: larger than a CIFAR-10 batch can be (over "
            f"{MAX_CIFAR_BATCH_BYTES // 2**20} MiB); delete it to download it again"
        )
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as exc:
        raise LenetError(
            f"damaged file {path}: not a CIFAR-10 batch ({one_line(exc)}); "
            f"delete it to download it again"
        ) from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise LenetError(
            f"damaged file {path}: data of shape {data.shape} with {len(labels)} labels, "
            f"expected (N, 3072) with N labels; delete it to download it again"
        )
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar_split(spec: DatasetSpec, folder: Path, split: str) -> Split:
    parts = [read_cifar_batch(folder / name) for name in CIFAR_FILES[split]]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    expected = spec.train_size if split == "train" else spec.test_size
    if len(labels) != expected or labels.min() < 0 or labels.max() >= len(spec.classes):
        raise LenetError(
            f"damaged CIFAR-10 {split} files in {folder}: {len(labels)} samples, expected "
            f"{expected} with labels 0-9; delete them to download them again"
        )
    return make_split(images, labels)


def read_digits() -> tuple[Split, Split]:
    """scikit-learn's 8x8 digits upscaled to 28x28 uint8, split 80/20, stratified, seed 0."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    small = torch.from_numpy(digits.images).float()[:, None] / 16.0
    big = torch.nn.functional.interpolate(small, size=(28, 28), mode="bilinear", antialias=False)
    images = (big.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    train_idx, test_idx = train_test_split(
        np.arange(len(images)), test_size=360, stratify=digits.target, random_state=0
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    return (
        make_split(images[train_idx], digits.target[train_idx]),
        make_split(images[test_idx], digits.target[test_idx]),
    )


def make_split(images: np.ndarray, labels: np.ndarray) -> Split:
    images_t = torch.from_numpy(np.array(images, dtype=np.uint8))  # a writable copy
    labels_t = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    return Split(images_t, labels_t, torch.arange(len(labels_t)))


def load_data(config: TrainConfig, options: RunOptions) -> Dataset:
    return load_dataset(
        config.dataset, options.data_dir, options.download, config.train_subset,
        config.test_subset, options.quiet, config.val_split, options.download_mirror(),
    )  # fmt: skip


def data_record(data: Dataset) -> dict:
    return {
        "dataset": data.spec.name,
        "source": data.source,
        "train_size": len(data.train),
        "val_size": 0 if data.val is None else len(data.val),
        "test_size": len(data.test),
        "classes": list(data.spec.classes),
    }
