"""The job-array path for clusters without MPI (apps/kreg/shard.hpp):
`--shard i/N` on predict, tune and cv writes partials beside --out, and
`kreg merge OUT` writes exactly what one process writes, for N = 1, 2, 3;
the shard index comes from SLURM_ARRAY_TASK_ID when only N is given; an
incomplete or mixed set of partials is refused with what to do."""
import json
import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def data(kreg, tmp_path_factory):
    root = tmp_path_factory.mktemp("shard")
    kreg("generate", "--n", "1500", "--d", "3", "--seed", "7", "--test-size", "0.2",
         "--out-dir", root)
    return root


def without_timing(path):
    j = json.loads(Path(path).read_text())
    for key in ("timing", "seconds", "threads"):
        j.pop(key, None)
    for fold in j["folds"] if isinstance(j.get("folds"), list) else []:
        fold.pop("fit_time", None)
        fold.pop("score_time", None)
    return j


def sharded(kreg, args, out, n):
    for i in range(n):
        proc = kreg(*args, "--out", out, "--shard", f"{i}/{n}")
        assert f"shard {i} of {n} written to '{out}.part-{i}-of-{n}'" in proc.stderr
        assert not Path(out).exists()
    kreg("merge", out)
    assert not list(Path(out).parent.glob(Path(out).name + ".part-*"))  # merged, then deleted


COMMANDS = {
    "predict": ["predict", "--train", "{d}/train.csv", "--target", "y", "--query",
                "{d}/test.csv", "--bandwidth", "0.3"],
    "tune-loo": ["tune", "--train", "{d}/train.csv", "--target", "y", "--cv", "loo",
                 "--bandwidths", "logspace:-1.5:0.5:12", "--optimize", "scalar"],
    "tune-kfold-per-feature": ["tune", "--train", "{d}/train.csv", "--target", "y", "--cv", "3",
                               "--bandwidths", "logspace:-1.5:0.5:12", "--optimize",
                               "per-feature"],
    "cv": ["cv", "--model", "nw", "--train", "{d}/train.csv", "--target", "y", "--folds", "5",
           "--bandwidth", "0.3"],
}


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_shards_merge_into_the_bytes_of_one_process(kreg, data, tmp_path, name, n):
    args = [a.replace("{d}", str(data)) for a in COMMANDS[name]]
    ext = "csv" if name == "predict" else "json"
    one, merged = tmp_path / f"one.{ext}", tmp_path / f"merged.{ext}"
    kreg(*args, "--out", one)
    sharded(kreg, args, merged, n)
    if name == "predict":
        assert merged.read_bytes() == one.read_bytes()
    else:
        assert without_timing(merged) == without_timing(one)


def test_the_shard_index_comes_from_slurm_array_task_id(kreg_bin, kreg, data, tmp_path):
    args = [a.replace("{d}", str(data)) for a in COMMANDS["predict"]]
    out = tmp_path / "p.csv"
    for i in range(2):
        subprocess.run([kreg_bin, *args, "--out", str(out), "--shard", "2"], check=True,
                       capture_output=True, env=dict(os.environ, SLURM_ARRAY_TASK_ID=str(i)))
    kreg("merge", out)
    kreg(*args, "--out", tmp_path / "one.csv")
    assert out.read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_bad_shards_and_incomplete_sets_are_refused(kreg, data, tmp_path):
    args = [a.replace("{d}", str(data)) for a in COMMANDS["cv"]]
    out = tmp_path / "cv.json"
    env_free = kreg(*args, "--out", out, "--shard", "3", check=False)
    if "SLURM_ARRAY_TASK_ID" not in os.environ:
        assert env_free.returncode == 2 and "SLURM_ARRAY_TASK_ID is not set" in env_free.stderr
    bad = kreg(*args, "--out", out, "--shard", "3/3", check=False)
    assert bad.returncode == 2 and "from 0 to N - 1" in bad.stderr
    word = kreg(*args, "--out", out, "--shard", "a/3", check=False)
    assert word.returncode == 2 and "'a' is not a whole number" in word.stderr
    no_out = kreg(*args, "--shard", "0/2", check=False)
    assert no_out.returncode == 2 and "give --out FILE" in no_out.stderr
    none = kreg("merge", out, check=False)
    assert none.returncode != 0 and "no partial results" in none.stderr
    kreg(*args, "--out", out, "--shard", "0/3")
    missing = kreg("merge", out, check=False)
    assert missing.returncode != 0 and "shard(s) 1, 2 of 3 have no partial" in missing.stderr
    kreg(*args[:-1], "0.5", "--out", out, "--shard", "1/3")  # another bandwidth
    kreg(*args, "--out", out, "--shard", "2/3")
    mixed = kreg("merge", out, check=False)
    assert mixed.returncode != 0 and "another command line" in mixed.stderr
    assert not out.exists()
