"""kreg's commands as MPI ranks (src/dist/, docs/cluster.md): under mpiexec
with 1, 2 and 3 ranks, predict, tune (leave-one-out, k-fold, holdout,
per-feature), cv and augment write the bytes one process writes (JSON
compared without its timing); a failing rank ends the job promptly with its
message and a non-zero status, and --resume then finishes with the
uninterrupted result; threads per rank follow Slurm or the cores.

The launcher comes from kreg_mpiexec.json, which CMake writes beside the kreg
tool from MPIEXEC_EXECUTABLE and MPIEXEC_NUMPROC_FLAG (tests/CMakeLists.txt)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HANG = 120  # seconds: a guard against a hung job, not a speed requirement


@pytest.fixture(scope="module")
def mpiexec(kreg_bin):
    path = Path(kreg_bin).parent / "kreg_mpiexec.json"
    if not path.exists():
        pytest.skip(f"{path} is missing: configure kreg with CMake to run the MPI tests")
    config = json.loads(path.read_text())
    if "missing" in config:
        pytest.skip(config["missing"])
    return config


@pytest.fixture(scope="module")
def run_ranks(mpiexec, kreg_bin):
    """run_ranks(np, *kreg_args, env=None, check=True): kreg as `np` MPI ranks."""

    def run(np, *args, env=None, check=True):
        full_env = dict(os.environ, **mpiexec["env"], **(env or {}))
        cmd = [mpiexec["mpiexec"], mpiexec["numproc_flag"], str(np), *mpiexec["flags"]]
        for name in env or {}:  # Open MPI passes only what -x names to every rank
            if "Open MPI" in subprocess.run([mpiexec["mpiexec"], "--version"],
                                            capture_output=True, text=True).stdout:
                cmd += ["-x", name]
        cmd += [kreg_bin, *map(str, args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=HANG)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="module")
def data(kreg, tmp_path_factory):
    root = tmp_path_factory.mktemp("mpi")
    kreg("generate", "--n", "1500", "--d", "3", "--seed", "7", "--test-size", "0.2",
         "--out-dir", root)
    return root


def without_timing(path):
    j = json.loads(Path(path).read_text())
    j.pop("timing", None)
    j.pop("seconds", None)
    j.pop("threads", None)
    for fold in j.get("folds", []) if isinstance(j.get("folds"), list) else []:
        fold.pop("fit_time", None)
        fold.pop("score_time", None)
    return j


RANKS = [1, 2, 3]


@pytest.mark.parametrize("np", RANKS)
@pytest.mark.parametrize("dtype,ext", [("f64", "csv"), ("f32", "npy")])
def test_predict_is_the_bytes_of_one_process(kreg, run_ranks, data, tmp_path, np, dtype, ext):
    args = ["predict", "--train", data / "train.csv", "--target", "y", "--query",
            data / "test.csv", "--bandwidth", "0.3", "--dtype", dtype]
    kreg(*args, "--out", tmp_path / f"one.{ext}")
    proc = run_ranks(np, *args, "--out", tmp_path / f"ranks.{ext}")
    assert (tmp_path / f"ranks.{ext}").read_bytes() == (tmp_path / f"one.{ext}").read_bytes()
    assert proc.stderr.count("kreg predict:") == 1  # rank 0 alone reports


TUNES = {
    "loo-scalar": ["--cv", "loo", "--optimize", "scalar"],
    "kfold": ["--cv", "4", "--seed", "3"],
    "holdout": ["--cv", "holdout", "--test", "{test}", "--optimize", "scalar"],
    "per-feature": ["--cv", "3", "--optimize", "per-feature", "--starts", "2"],
}


@pytest.mark.parametrize("np", RANKS)
@pytest.mark.parametrize("kind", list(TUNES))
def test_tune_is_the_bytes_of_one_process(kreg, run_ranks, data, tmp_path, np, kind):
    extra = [a.replace("{test}", str(data / "test.csv")) for a in TUNES[kind]]
    args = ["tune", "--train", data / "train.csv", "--target", "y",
            "--bandwidths", "logspace:-1.5:0.5:12", *extra]
    kreg(*args, "--out", tmp_path / "one.json", "--csv", tmp_path / "one.csv", "--jobs", "2")
    run_ranks(np, *args, "--out", tmp_path / "ranks.json", "--csv", tmp_path / "ranks.csv")
    assert (tmp_path / "ranks.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert without_timing(tmp_path / "ranks.json") == without_timing(tmp_path / "one.json")
    assert not (tmp_path / "ranks.json.journal").exists()  # rank 0 removed its journal


@pytest.mark.parametrize("np", RANKS)
def test_cv_is_the_bytes_of_one_process(kreg, run_ranks, data, tmp_path, np):
    args = ["cv", "--model", "nw", "--train", data / "train.csv", "--target", "y",
            "--folds", "5", "--bandwidth", "0.3"]
    one = kreg(*args, "--out", tmp_path / "one.json")
    ranks = run_ranks(np, *args, "--out", tmp_path / "ranks.json")
    assert without_timing(tmp_path / "ranks.json") == without_timing(tmp_path / "one.json")
    assert ranks.stdout.splitlines()[-1].split(";")[0] == one.stdout.splitlines()[-1].split(";")[0]
    assert ranks.stdout.count("kreg cv:") == 1


@pytest.mark.parametrize("np,limit,copies", [(2, 101, 3), (3, 101, 3), (3, 2, 1)])
def test_augment_is_the_bytes_of_one_process(kreg, run_ranks, tmp_path, np, limit, copies):
    root = Path("/usr/share/datasets/fashion-mnist")
    images, labels = root / "t10k-images-idx3-ubyte.gz", root / "t10k-labels-idx1-ubyte.gz"
    if not images.exists():
        pytest.skip(f"{images} is missing (Debian's dataset-fashion-mnist, scripts/bootstrap)")
    args = ["augment", "--images", images, "--labels", labels, "--limit", limit, "--copies",
            copies, "--seed", "5"]
    kreg(*args, "--out", tmp_path / "one.idx", "--labels-out", tmp_path / "one-labels.idx")
    run_ranks(np, *args, "--out", tmp_path / "ranks.idx", "--labels-out",
              tmp_path / "ranks-labels.idx")
    assert (tmp_path / "ranks.idx").read_bytes() == (tmp_path / "one.idx").read_bytes()
    assert ((tmp_path / "ranks-labels.idx").read_bytes()
            == (tmp_path / "one-labels.idx").read_bytes())


def test_a_failing_rank_ends_the_job_and_resume_finishes_it(kreg, run_ranks, tmp_path):
    # Enough points for a plan of several tasks a rank.
    kreg("generate", "--n", "8000", "--d", "4", "--seed", "2", "--test-size", "0.1",
         "--out-dir", tmp_path)
    args = ["tune", "--train", tmp_path / "train.csv", "--target", "y", "--cv", "loo",
            "--bandwidths", "logspace:-1:1:40", "--optimize", "scalar"]
    kreg(*args, "--out", tmp_path / "one.json", "--csv", tmp_path / "one.csv")
    out = tmp_path / "ranks.json"
    # Rank 1 fails before its second task: rank 0 has journaled the first round.
    failed = run_ranks(3, *args, "--out", out, "--csv", tmp_path / "ranks.csv",
                       env={"KREG_TEST_FAIL": "1:2"}, check=False)
    assert failed.returncode != 0
    assert "rank 1 of 3: failing on purpose before its task 2" in failed.stderr
    journal = Path(str(out) + ".journal")
    assert len(journal.read_text().splitlines()) == 1 + 3  # the header and round one's tasks
    assert not out.exists()
    resumed = run_ranks(2, *args, "--out", out, "--csv", tmp_path / "ranks.csv", "--resume")
    assert "3 records" in resumed.stderr
    assert (tmp_path / "ranks.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert without_timing(out) == without_timing(tmp_path / "one.json")


def test_a_bad_input_on_rank_0_ends_the_job_with_its_message(run_ranks, data, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x0,x1,x2\n1,2,3\n4,five,6\n")
    proc = run_ranks(3, "predict", "--train", data / "train.csv", "--target", "y",
                     "--query", bad, "--out", tmp_path / "p.csv", check=False)
    assert proc.returncode != 0
    assert "five" in proc.stderr and "rank 0 of 3 failed" in proc.stderr
    assert not (tmp_path / "p.csv").exists()


def test_threads_per_rank_follow_slurm_then_the_cores(kreg_bin, run_ranks, data):
    args = ["cv", "--model", "nw", "--train", data / "train.csv", "--target", "y"]
    proc = subprocess.run([kreg_bin, *map(str, args)],
                          capture_output=True, text=True,
                          env=dict(os.environ, SLURM_CPUS_PER_TASK="3"))
    assert ", 3 threads" in proc.stdout.splitlines()[0]
    cores = os.cpu_count()
    ranks = run_ranks(2, *args)
    assert f", {max(1, cores // 2)} threads" in ranks.stdout.splitlines()[0]
    ranks = run_ranks(2, *args, "--jobs", "5")
    assert ", 5 threads" in ranks.stdout.splitlines()[0]


def test_shards_and_merge_are_refused_under_ranks(run_ranks, data, tmp_path):
    shard = run_ranks(2, "cv", "--model", "nw", "--train", data / "train.csv", "--target", "y",
                      "--out", tmp_path / "cv.json", "--shard", "0/2", check=False)
    assert shard.returncode != 0 and "under mpirun or srun the ranks share" in shard.stderr
    merge = run_ranks(2, "merge", tmp_path / "cv.json", check=False)
    assert merge.returncode != 0 and "kreg merge runs in one process" in merge.stderr


def test_a_kreg_without_its_mpi_plugin_says_so_under_a_launcher(mpiexec, kreg_bin, tmp_path):
    lone = tmp_path / "bin" / "kreg"  # no libkreg_mpi.so beside it, none in ../lib/kreg/
    lone.parent.mkdir()
    shutil.copy(kreg_bin, lone)
    proc = subprocess.run([mpiexec["mpiexec"], mpiexec["numproc_flag"], "1", *mpiexec["flags"],
                           str(lone), "info"], capture_output=True, text=True, timeout=HANG,
                          env=dict(os.environ, **mpiexec["env"]))
    assert proc.returncode != 0
    assert "started by an MPI launcher (mpirun or srun), but its MPI support did not load" \
        in proc.stderr


def test_ranks_that_read_different_data_are_refused(kreg, mpiexec, kreg_bin, data, tmp_path):
    if "OMPI_COMM_WORLD_SIZE" not in subprocess.run(
            [mpiexec["mpiexec"], mpiexec["numproc_flag"], "1", *mpiexec["flags"], "env"],
            capture_output=True, text=True, env=dict(os.environ, **mpiexec["env"])).stdout:
        pytest.skip("this launcher does not say a rank's number in OMPI_COMM_WORLD_RANK")
    # Rank 1's copy of the training set differs in one value.
    lines = (data / "train.csv").read_text().splitlines()
    (tmp_path / "train0.csv").write_text("\n".join(lines) + "\n")
    lines[5] = lines[5].replace(lines[5].split(",")[0], "0.125", 1)
    (tmp_path / "train1.csv").write_text("\n".join(lines) + "\n")
    script = (f'exec "{kreg_bin}" tune --train "{tmp_path}/train$OMPI_COMM_WORLD_RANK.csv" '
              f'--target y --cv 3 --out "{tmp_path}/t.json"')
    proc = subprocess.run([mpiexec["mpiexec"], mpiexec["numproc_flag"], "2", *mpiexec["flags"],
                           "sh", "-c", script], capture_output=True, text=True, timeout=HANG,
                          env=dict(os.environ, **mpiexec["env"]))
    assert proc.returncode != 0
    assert "rank 1 read other data (by checksum) than rank 0" in proc.stderr
    assert not (tmp_path / "t.json").exists()
