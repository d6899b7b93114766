import functools
import gzip
import hashlib
import http.server
import json
import pickle
import shutil
import threading
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import real_data_root

from lenetcli.config import RunOptions, TrainConfig
from lenetcli.errors import LenetError
from lenetcli.science import data
from lenetcli.science.data import (
    DATASETS,
    Split,
    load_data,
    load_dataset,
    read_cifar_batch,
    read_idx,
    stratified_subset,
    validation_split,
)


@pytest.mark.parametrize(
    ("name", "shape", "train", "test"),
    [
        ("mnist", (1, 28, 28), 60000, 10000),
        ("fashion-mnist", (1, 28, 28), 60000, 10000),
        ("cifar10", (3, 32, 32), 50000, 10000),
    ],
)
def test_real_datasets_read_whole(name, shape, train, test):
    ds = load_dataset(name, real_data_root(name), download=False)
    assert ds.train.images.shape == (train, *shape) and ds.test.images.shape == (test, *shape)
    assert ds.train.images.dtype == torch.uint8 and ds.train.labels.dtype == torch.int64
    counts = torch.bincount(ds.train.labels, minlength=10)
    assert len(counts) == 10 and counts.sum() == train
    if name == "mnist":  # the published MNIST class counts
        assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    else:  # Fashion-MNIST and CIFAR-10 are balanced
        assert counts.tolist() == [train // 10] * 10
    assert torch.bincount(ds.test.labels).sum() == test


def test_digits_need_no_files(tmp_path):
    ds = load_dataset("digits", tmp_path / "nothing-here")
    assert ds.train.images.shape == (1437, 1, 28, 28) and ds.test.images.shape == (360, 1, 28, 28)
    assert ds.train.images.dtype == torch.uint8
    totals = torch.bincount(ds.train.labels) + torch.bincount(ds.test.labels)
    # stratified: each digit's share of the test split is its share of the whole, within one
    assert (torch.bincount(ds.test.labels) - totals * 360 / 1797).abs().max() <= 1
    assert not (tmp_path / "nothing-here").exists()
    again = load_dataset("digits", tmp_path)
    assert torch.equal(ds.test.images, again.test.images)  # the split is deterministic


def test_subsets_are_stratified_and_deterministic():
    ds = load_dataset("digits")
    sub = stratified_subset(ds.train, 200, "--train-subset")
    assert len(sub) == 200
    assert torch.bincount(sub.labels, minlength=10).tolist() == [20] * 10
    assert torch.equal(sub.indices, stratified_subset(ds.train, 200, "--train-subset").indices)
    # the subset's images are the full split's images at the recorded indices
    assert torch.equal(sub.images, ds.train.images[sub.indices])


def test_subset_larger_than_split_is_refused_naming_the_dataset():
    # a study may read several datasets: the error says which one the size does not fit
    with pytest.raises(LenetError, match="^digits: --test-subset 500 is out of range.*360 samples"):
        load_dataset("digits", test_subset=500)
    with pytest.raises(LenetError, match="^digits: --val-split 0.0001 would hold out 0"):
        load_dataset("digits", val_split=0.0001)


def test_default_data_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LENET_DATA_DIR", str(tmp_path))
    assert data.default_data_dir() == tmp_path
    monkeypatch.delenv("LENET_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data.default_data_dir() == tmp_path / "cache" / "lenetcli" / "data"


def test_missing_files_without_download_say_where_they_belong(tmp_path):
    with pytest.raises(LenetError) as err:
        load_dataset("fashion-mnist", tmp_path, download=False)
    text = str(err.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in text
    assert "train-images-idx3-ubyte" in text and "--no-download" in text and "--data-dir" in text


# --------------------------------------------------------------------------- damaged files


def write_idx(path: Path, magic: int, dims: tuple, payload: bytes) -> None:
    header = np.array([magic, *dims], dtype=">i4").tobytes()
    path.write_bytes(header + payload)


def test_idx_wrong_magic_names_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    write_idx(path, 2051, (3,), b"\x00\x01\x02")
    with pytest.raises(LenetError, match=f"damaged file {path}: magic number 2051, expected 2049"):
        read_idx(path, magic=2049)


def test_idx_truncated_names_the_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    write_idx(path, 2051, (10, 28, 28), bytes(100))
    with pytest.raises(LenetError, match="damaged file .*t10k-images-idx3-ubyte: truncated"):
        read_idx(path, magic=2051)


def test_idx_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(LenetError, match="damaged file .*train-images-idx3-ubyte.gz"):
        read_idx(path, magic=2051)


def test_idx_damaged_gzip_stream_names_the_file(tmp_path):
    # A bit flip inside the compressed data: zlib's error, not an OSError
    data = bytearray(gzip.compress(bytes(range(256)) * 400))
    for i in range(100, 140):
        data[i] ^= 0xFF
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(LenetError, match="damaged file .*train-labels-idx1-ubyte.gz: "):
        read_idx(path, magic=2049)


def test_idx_longer_than_its_header_says_is_named_so(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(path, 2049, (3,), b"\x00\x01\x02\x03")
    with pytest.raises(
        LenetError, match="too long .more than the 3 bytes of data its header says.; delete"
    ):
        read_idx(path, magic=2049)


def peak_memory(work) -> int:
    """The most memory (bytes) Python and numpy held at once while work() ran."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def gzip_bomb(path: Path, header: bytes, inflated: int) -> None:
    """A gzip of a few hundred KB holding header and then `inflated` zero bytes: members of 1
    MiB of zeros, repeated (gzip readers read consecutive members as one stream)."""
    member = gzip.compress(bytes(2**20), compresslevel=9)
    path.write_bytes(gzip.compress(header) + member * (inflated // 2**20))


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    # the header promises 100 test images; 256 MiB follow
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    gzip_bomb(path, np.array([2051, 100, 28, 28], dtype=">i4").tobytes(), 256 * 2**20)
    assert path.stat().st_size < 2**20

    def read():
        with pytest.raises(LenetError, match="too long .more than the 78400 bytes of data"):
            read_idx(path, magic=2051, shape=(100, 28, 28))

    assert peak_memory(read) < 4 * 2**20  # one image file's worth, not 256 MiB


def test_an_idx_file_far_longer_than_its_header_says_is_not_read_whole(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(path, 2049, (10,), bytes(10))
    with open(path, "r+b") as f:
        f.truncate(256 * 2**20)  # a sparse file: takes no disk space

    def read():
        with pytest.raises(LenetError, match="too long"):
            read_idx(path, magic=2049, shape=(10,))

    assert peak_memory(read) < 2**20


def test_a_header_promising_more_than_a_valid_file_holds_is_refused_before_reading(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_bomb(path, np.array([2051, 10**6, 28, 28], dtype=">i4").tobytes(), 64 * 2**20)

    def read():
        with pytest.raises(
            LenetError, match=r"holds images of shape \(1000000, 28, 28\), expected"
        ):
            read_idx(path, magic=2051, shape=(60000, 28, 28))
        with pytest.raises(LenetError, match="header promises 784000000 bytes of data"):
            read_idx(path, magic=2051)

    assert peak_memory(read) < 2**20


@pytest.mark.parametrize("head", [b"", b"\x00\x00\x08", b"\x00\x00\x08\x03\x00\x00"])
def test_an_idx_header_cut_short_names_the_file(tmp_path, head):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(head)
    with pytest.raises(LenetError, match=f"damaged file {path}: (magic number nothing|truncated)"):
        read_idx(path, magic=2051)


def test_idx_wrong_shape_names_the_file(tmp_path, mnist_root):
    raw = tmp_path / "MNIST" / "raw"
    shutil.copytree(mnist_root / "MNIST" / "raw", raw)
    for f in raw.glob("t10k-images*"):
        f.unlink()
    write_idx(raw / "t10k-images-idx3-ubyte", 2051, (10000, 14, 56), bytes(10000 * 14 * 56))
    with pytest.raises(LenetError, match="t10k-images-idx3-ubyte: holds images of shape"):
        load_dataset("mnist", tmp_path, download=False)


def test_cifar_garbage_names_the_file(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02garbage")
    with pytest.raises(LenetError, match=f"damaged file {path}"):
        read_cifar_batch(path)


class RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_cifar_batch_cannot_run_code(tmp_path, capsys):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": RunsCode(), b"labels": [0]}))
    with pytest.raises(LenetError, match="refusing to load builtins.print"):
        read_cifar_batch(path)
    assert "must never run" not in capsys.readouterr().out


def test_a_cifar_batch_larger_than_any_batch_is_not_read_whole(tmp_path):
    # 20,000 images (61 MB), twice what a batch holds: valid in form, but never read
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as f:
        pickle.dump({b"data": np.zeros((20000, 3072), np.uint8), b"labels": [0] * 20000}, f)

    def read():
        with pytest.raises(LenetError, match="larger than a CIFAR-10 batch can be"):
            read_cifar_batch(path)

    assert peak_memory(read) < 64 * 2**20


def test_cifar_wrong_shape_names_the_file(tmp_path):
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}))
    with pytest.raises(LenetError, match="test_batch: data of shape"):
        read_cifar_batch(path)


# --------------------------------------------------------------------------- downloads


@pytest.fixture
def mnist_server(mnist_root):
    """A local HTTP server standing in for the MNIST mirror: serves the four .gz archives."""
    served = mnist_root / "served"
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(mnist_root / "MNIST" / "raw")
    )
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", mnist_root / "MNIST" / "raw", served
    server.shutdown()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_fetches_checks_and_unpacks(tmp_path, monkeypatch, mnist_server):
    url, source, _ = mnist_server
    resources = tuple((name, md5(source / name)) for name, _ in DATASETS["mnist"].resources)
    spec = replace(
        DATASETS["mnist"], mirrors=("http://127.0.0.1:9/unreachable/", url), resources=resources
    )
    monkeypatch.setitem(DATASETS, "mnist", spec)
    ds = load_dataset("mnist", tmp_path, test_subset=100)
    raw = tmp_path / "MNIST" / "raw"
    assert (raw / "train-images-idx3-ubyte.gz").is_file() and (
        raw / "train-images-idx3-ubyte"
    ).is_file()
    assert ds.train.images.shape == (60000, 1, 28, 28) and len(ds.test) == 100


def test_download_with_wrong_checksum_is_an_error(tmp_path, monkeypatch, mnist_server):
    url, source, _ = mnist_server
    resources = tuple((name, "0" * 32) for name, _ in DATASETS["mnist"].resources)
    monkeypatch.setitem(
        DATASETS, "mnist", replace(DATASETS["mnist"], mirrors=(url,), resources=resources)
    )
    with pytest.raises(LenetError, match="MNIST files missing in .*the download failed") as e:
        load_dataset("mnist", tmp_path, quiet=True)
    assert f"MD5 {md5(source / 'train-images-idx3-ubyte.gz')}, expected {'0' * 32}" in str(e.value)
    # A file that failed its check is gone: the next run must not read it unchecked; and so
    # is the folder the download made for it
    assert list(tmp_path.iterdir()) == []


def test_download_says_what_it_fetches_unless_quiet(tmp_path, monkeypatch, mnist_server, capfd):
    url, source, _ = mnist_server
    resources = tuple((name, md5(source / name)) for name, _ in DATASETS["mnist"].resources)
    monkeypatch.setitem(
        DATASETS, "mnist", replace(DATASETS["mnist"], mirrors=(url,), resources=resources)
    )
    load_dataset("mnist", tmp_path / "loud", test_subset=100)
    err = capfd.readouterr().err
    assert err.count("Downloading http://127.0.0.1:") == 4 and "%" not in err  # no bar in a pipe
    load_dataset("mnist", tmp_path / "quiet", test_subset=100, quiet=True)
    assert capfd.readouterr().err == ""


def test_official_sources_are_torchvisions():
    import torchvision.datasets as tvd

    assert DATASETS["mnist"].mirrors == tuple(tvd.MNIST.mirrors)
    assert DATASETS["fashion-mnist"].resources == tuple(
        tuple(r) for r in tvd.FashionMNIST.resources
    )
    assert DATASETS["cifar10"].resources == ((tvd.CIFAR10.filename, tvd.CIFAR10.tgz_md5),)
    assert DATASETS["cifar10"].mirrors[0] + tvd.CIFAR10.filename == tvd.CIFAR10.url


def test_gzip_only_layout_is_read(tmp_path, mnist_root):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in (mnist_root / "MNIST" / "raw").glob("*.gz"):
        shutil.copy(gz, raw / gz.name)
    ds = load_dataset("mnist", tmp_path, download=False, test_subset=50)
    with gzip.open(raw / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    assert torch.equal(
        ds.test.labels, torch.from_numpy(labels[ds.test.indices.numpy()].astype(np.int64))
    )


def test_data_dir_starting_with_a_tilde_is_the_home_folder(tmp_path, monkeypatch):
    # --data-dir=~/data reaches lenet unexpanded (no shell expands a tilde after "=")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(LenetError) as e:
        load_dataset("mnist", "~/data", download=False)
    assert f"missing in {tmp_path / 'data' / 'MNIST' / 'raw'}" in str(e.value)


def test_validation_images_are_held_out_of_the_training_ones_stratified_and_fixed():
    whole = load_dataset("digits", train_subset=400)
    data = load_dataset("digits", train_subset=400, val_split=0.25)
    assert (len(data.train), len(data.val)) == (300, 100)
    train, val = set(data.train.indices.tolist()), set(data.val.indices.tolist())
    assert not train & val and train | val == set(whole.train.indices.tolist())
    assert torch.bincount(data.val.labels).tolist() == [10] * 10  # 40 of each class, a quarter
    again = load_dataset("digits", train_subset=400, val_split=0.25)
    assert torch.equal(again.val.indices, data.val.indices)  # no seed: one set for every run
    assert torch.equal(data.test.indices, whole.test.indices)  # the test set is untouched
    assert load_dataset("digits", train_subset=400).val is None


def test_a_validation_split_too_small_or_too_large_is_refused():
    split = load_dataset("digits", train_subset=100).train
    for fraction in (0.01, 0.95):
        with pytest.raises(LenetError, match=f"--val-split {fraction} would hold out"):
            validation_split(split, fraction)
    with pytest.raises(LenetError, match="choose a fraction from 0.1 to 0.9"):
        validation_split(split, 0.05)
    with pytest.raises(LenetError, match="every class needs 2 at least, and one has 1"):
        validation_split(load_dataset("digits", train_subset=15).train, 0.5)
    # stratified: every class keeps its share of the images, on both sides
    whole = load_dataset("digits").train
    train, val = validation_split(whole, 0.2)
    shares = torch.bincount(whole.labels) / len(whole)
    for part in (train, val):
        assert torch.allclose(torch.bincount(part.labels) / len(part), shares, atol=0.005)
    assert len(train.labels.unique()) == len(val.labels.unique()) == 10


def test_the_range_a_validation_error_suggests_is_one_that_works():
    # 60,000 images of 10 classes, as MNIST's training set: 1 - 10/60000 is not "1"
    labels = torch.arange(60_000) % 10
    split = Split(torch.zeros(60_000, 1, 1, 1, dtype=torch.uint8), labels, torch.arange(60_000))
    with pytest.raises(LenetError, match="choose a fraction from 0.000167 to 0.999$"):
        validation_split(split, 0.99999)
    for fraction in (0.000167, 0.999):
        train, val = validation_split(split, fraction)
        assert len(train.labels.unique()) == len(val.labels.unique()) == 10


# --------------------------------------------------------------------------- mirrors


def tiny_mnist(folder: Path) -> None:
    """A 20 + 10 image MNIST, gzipped into folder/MNIST/raw as a download leaves it."""
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("t10k", 10)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8).tobytes()
        labels = (np.arange(n) % 10).astype(np.uint8).tobytes()
        for kind, magic, dims, payload in (
            ("images-idx3", 2051, (n, 28, 28), images),
            ("labels-idx1", 2049, (n,), labels),
        ):
            header = np.array([magic, *dims], dtype=">i4").tobytes()
            (raw / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + payload))


@pytest.fixture
def tiny_mirror(tmp_path, monkeypatch):
    """A lab's mirror: a data folder holding a tiny MNIST, served on 127.0.0.1; the MNIST
    spec takes its sizes and MD5 sums, and official hosts that cannot be reached."""
    served = tmp_path / "served"
    tiny_mnist(served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    raw = served / "MNIST" / "raw"
    resources = tuple((name, md5(raw / name)) for name, _ in DATASETS["mnist"].resources)
    spec = replace(
        DATASETS["mnist"], train_size=20, test_size=10, resources=resources,
        mirrors=("http://127.0.0.1:9/official/",),  # never reached: a mirror replaces them
    )  # fmt: skip
    monkeypatch.setitem(DATASETS, "mnist", spec)
    monkeypatch.delenv("LENET_MIRROR", raising=False)
    yield f"http://127.0.0.1:{server.server_address[1]}", raw
    server.shutdown()


def test_a_mirror_given_by_option_or_environment_replaces_the_official_hosts(
    tiny_mirror, tmp_path, monkeypatch, capfd
):
    url, raw = tiny_mirror
    config = TrainConfig(dataset="mnist")
    # the base URL with or without its final slash
    data = load_data(config, RunOptions(data_dir=tmp_path / "a", mirror=url))
    assert len(data.train) == 20 and len(data.test) == 10
    err = capfd.readouterr().err
    assert f"Downloading {url}/MNIST/raw/train-images-idx3-ubyte.gz" in err
    assert "127.0.0.1:9" not in err
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert (tmp_path / "a" / "MNIST" / "raw" / name).read_bytes() == (raw / name).read_bytes()
    monkeypatch.setenv("LENET_MIRROR", url + "/")
    again = load_data(config, RunOptions(data_dir=tmp_path / "b", quiet=True))
    assert torch.equal(again.train.images, data.train.images)
    assert capfd.readouterr().err == ""


def test_a_mirror_file_that_fails_its_md5_sum_is_refused_and_removed(tiny_mirror, tmp_path):
    url, raw = tiny_mirror
    name = "train-images-idx3-ubyte.gz"
    good = raw / name
    good.write_bytes(gzip.compress(b"tampered"))
    with pytest.raises(LenetError) as e:
        load_data(TrainConfig(dataset="mnist"), RunOptions(data_dir=tmp_path / "d", mirror=url))
    assert f"{url}/MNIST/raw/{name}: MD5 {md5(good)}, expected " in str(e.value)
    assert "not the official file (deleted)" in str(e.value)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    "mirror", ["/srv/data", "file:///srv/data/", "htp://mirror.example.org/", "https://", ""]
)
def test_a_mirror_that_is_not_a_url_is_refused_before_anything_is_read(mirror, tmp_path):
    with pytest.raises(LenetError, match=f"^--mirror '{mirror}' is not a base URL; give one"):
        load_data(TrainConfig(dataset="digits"), RunOptions(data_dir=tmp_path, mirror=mirror))


def test_a_mirror_from_the_environment_is_named_so_when_refused(monkeypatch):
    monkeypatch.setenv("LENET_MIRROR", "mirror.example.org")
    with pytest.raises(LenetError, match="^.LENET_MIRROR 'mirror.example.org' is not a base URL"):
        RunOptions().download_mirror()


def test_a_failed_download_leaves_no_folder_behind_and_points_to_digits(tmp_path, monkeypatch):
    spec = replace(DATASETS["mnist"], mirrors=("http://127.0.0.1:9/unreachable/",))
    monkeypatch.setitem(DATASETS, "mnist", spec)
    root = tmp_path / "data"
    with pytest.raises(LenetError, match="the download failed") as e:
        load_dataset("mnist", root, quiet=True)
    assert not root.exists()  # the data folder, MNIST/ and MNIST/raw/ all came from lenet
    assert str(e.value).endswith("--dataset digits works with no network")
    assert "--mirror URL or $LENET_MIRROR" in str(e.value)
    # a folder that was there before is the user's, and stays
    (root / "MNIST").mkdir(parents=True)
    with pytest.raises(LenetError, match="the download failed"):
        load_dataset("mnist", root, quiet=True)
    assert (root / "MNIST").is_dir() and not (root / "MNIST" / "raw").exists()


def test_lenet_train_downloads_from_the_mirror_option(tiny_mirror, tmp_path):
    from typer.testing import CliRunner

    from lenetcli.cli import app

    url, _ = tiny_mirror
    args = [
        "train", "--dataset", "mnist", "--mirror", url, "--data-dir", str(tmp_path / "data"),
        "--epochs", "1", "--batch-size", "10", "--device", "cpu", "--quiet",
        "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["options"]["mirror"] == url
    bad = CliRunner().invoke(app, [*args[:4], "ftp:/x", *args[5:-1], str(tmp_path / "run2")])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --mirror 'ftp:/x' is not a base")
    assert not (tmp_path / "run2").exists()


def test_a_data_folder_that_is_a_file_or_inside_one_is_refused_before_any_download(tmp_path):
    from lenetcli.science.data import ensure_files, files_to_download, get_spec

    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    for root in (afile, afile / "data"):
        with pytest.raises(LenetError, match=f"cannot be a folder: {afile} is a file"):
            ensure_files(get_spec("mnist"), root, download=True)  # no mirror is tried
        with pytest.raises(LenetError, match="is a file; choose a folder with --data-dir"):
            files_to_download(["mnist"], root, download=True)
    assert afile.read_text() == "mine"
    assert files_to_download(["digits"], afile, download=True) == []  # no files of its own


def test_only_cifar10_from_files_that_are_not_the_official_ones_is_a_copy(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(b"not the official file")
    assert data.unofficial_copy("cifar10", folder) and data.unofficial_copy("cifar10", str(folder))
    assert not data.unofficial_copy("mnist", folder)
    assert not data.unofficial_copy("cifar10", tmp_path / "gone")  # nothing can tell
    assert not data.unofficial_copy("cifar10", None) and not data.unofficial_copy("cifar10", "")
    one = {"dataset": "cifar10", "source": str(folder)}
    assert data.recorded_copies(one) == {"cifar10"}  # a train's config.json
    several = {"datasets": [{"dataset": "mnist", "source": str(folder)}, one]}  # a study's
    assert data.recorded_copies(several) == {"cifar10"}
    assert data.recorded_copies(None) == set() == data.recorded_copies({"datasets": "x"})
    monkeypatch.setattr(data, "official_cifar_files", lambda folder: True)
    assert not data.unofficial_copy("cifar10", folder) and data.recorded_copies(one) == set()


def test_the_offline_cifar_copy_is_an_unofficial_one():
    root = real_data_root("cifar10")  # decoded from a JPEG rendition: other files, other MD5s
    assert data.unofficial_copy("cifar10", root / "cifar-10-batches-py")


def test_the_note_on_a_copy_is_worded_in_one_place():
    assert data.shown_title("cifar10", True) == f"CIFAR-10 {data.COPY_SUFFIX}"
    assert data.shown_title("cifar10", False) == "CIFAR-10"
    note = f"Note: {data.COPY_NOTE}."
    assert data.copy_note() == note
    assert data.with_note("Confusion matrix (a.png)", True) == f"Confusion matrix (a.png). {note}"
    assert data.with_note("One sentence.", True) == f"One sentence. {note}"
    assert data.with_note("One sentence.", False) == "One sentence."
