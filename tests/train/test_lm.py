"""The byte-level LM task: corpus order and content hash, the 5% split, deterministic batches, one run."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

pytest.importorskip("torch")

from nmsim.errors import NmsimInputError
from nmsim.train.tasks.lm import ByteLMTask, load_corpus, stdlib_files


def test_corpus_order_hash_and_split(tmp_path, make_corpus):
    files = make_corpus(tmp_path)
    c = load_corpus(tmp_path)
    order = ["a.txt", "a/x.py", "b.txt"]  # by relative POSIX path: '.' (0x2e) sorts before '/' (0x2f)
    assert c.files == 3
    assert c.data == b"".join(files[r] for r in order)
    h = hashlib.sha256()
    for r in order:
        h.update(r.encode() + b"\0" + str(len(files[r])).encode() + b"\0" + files[r])
    assert c.sha256 == h.hexdigest()
    held = math.ceil(0.05 * len(c.data))
    assert c.split_at == len(c.data) - held
    # one changed byte, or a renamed file, changes the hash
    other = tmp_path.parent / "other"
    other.mkdir()
    make_corpus(other, extra=b"!")
    assert load_corpus(other).sha256 != c.sha256
    (other / "a.txt").write_bytes(files["a.txt"])
    assert load_corpus(other).sha256 == c.sha256
    (other / "a.txt").rename(other / "c.txt")
    assert load_corpus(other).sha256 != c.sha256


def test_batches_are_deterministic_and_stay_in_their_split(tmp_path, make_corpus):
    make_corpus(tmp_path)
    c = load_corpus(tmp_path)
    task = ByteLMTask(c, seed=3, context=32, eval_windows=64)
    x, y = task.train_batch(5, 8)
    assert x.shape == y.shape == (8, 32)
    x2, y2 = ByteLMTask(c, seed=3, context=32, eval_windows=64).train_batch(5, 8)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, ByteLMTask(c, seed=4, context=32).train_batch(5, 8)[0])
    assert np.array_equal(x[:, 1:], y[:, :-1])  # targets are the inputs shifted by one byte
    data = np.frombuffer(c.data, dtype=np.uint8)
    # the documented draw: offsets from default_rng([seed, step, 11]) over the training bytes only
    starts = np.random.default_rng([3, 5, 11]).integers(0, c.split_at - 33, size=8)
    assert starts.max() + 33 <= c.split_at
    assert all(np.array_equal(x[i], data[s : s + 32]) for i, s in enumerate(starts))
    assert all(np.array_equal(y[i], data[s + 1 : s + 33]) for i, s in enumerate(starts))
    ex, ey = task.eval_batch()
    held = data[c.split_at :]
    assert ex.shape == (64, 32)
    assert np.array_equal(ex[0], held[:32]) and np.array_equal(ey[-1], held[-32:])


def test_stdlib_corpus_leaves_tests_out():
    files = stdlib_files()
    assert files == sorted(files, key=lambda p: p.as_posix())
    assert files and not any(p.name.startswith("test_") or "test" in p.parts[-2:-1] for p in files)


def test_small_corpus_is_refused(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x" * 1000)
    with pytest.raises(NmsimInputError, match="corpus"):
        load_corpus(tmp_path)


def test_one_lm_run_records_task_metadata_and_is_deterministic(tmp_path, make_corpus):
    from nmsim.train.trainer import TrainConfig, train_lm

    make_corpus(tmp_path / "c")
    cfg = TrainConfig(task="lm", corpus=str(tmp_path / "c"), recipe="mdgf", nm="1:16", steps=12, d_model=32,
                      context=32, eval_size=32, threads=1)  # fmt: skip
    a, b = train_lm(cfg), train_lm(cfg)
    assert a.accuracy == b.accuracy
    m = a.trace.metrics
    assert m.source == "measured" and m.metric == "next_byte_accuracy" and m.dataset == "c"
    assert m.task_info["corpus_sha256"] == load_corpus(tmp_path / "c").sha256
    assert m.task_info["eval_bytes"] == 32 * 32
    assert 0 < m.extra["bits_per_byte"] < 9  # a 256-way uniform guess is 8 bits
    tr = a.trace.training
    assert tr.settings_hash and tr.target == "1:16" and tr.target_density == pytest.approx(1 / 16)
    assert tr.batch_size == 16 and tr.tokens_per_step == 16 * 32
    ff = [la for la in a.trace.layers if la.role == "ff"]
    assert len(ff) == 4 and all(la.pattern == "1:16" for la in ff)
    # a different step count is a different setting
    cfg.steps = 13
    assert train_lm(cfg).trace.training.settings_hash != tr.settings_hash
