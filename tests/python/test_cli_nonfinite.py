"""--allow-nonfinite on every command that reads tables (predict, tune, cv,
score; describe counts): statsmodels' missing='drop'. Training rows with a
NaN/Inf in a feature or the target are dropped, query rows with one get a NaN
prediction, score leaves out pairs with one; each count is said on stderr, and
the results equal those on the data cleaned by hand. Without the flag the file
is refused with a message that names it. (`kreg infer` reads 8-bit IDX images,
which hold no NaN/Inf, so it has no such flag.)"""
import numpy as np
import pytest

from test_cli_consistency import write_csv


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(5)
    root = tmp_path_factory.mktemp("nonfinite")
    X = rng.normal(size=(90, 2))
    y = X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=90)
    write_csv(root / "train_clean.csv", X[:70], y[:70])
    write_csv(root / "test_clean.csv", X[70:], y[70:])
    # The same rows with three dirty ones added to each file: a NaN feature,
    # an Inf feature and a NaN target.
    dirty = np.array([[np.nan, 0.5], [0.1, np.inf], [0.2, 0.3]])
    dirty_y = np.array([1.0, 2.0, np.nan])
    write_csv(root / "train.csv", np.vstack([X[:70], dirty]), np.concatenate([y[:70], dirty_y]))
    write_csv(root / "test.csv", np.vstack([dirty[:2], X[70:]]),
              np.concatenate([dirty_y[:2], y[70:]]))
    return root


def numbers(text):
    return np.array([float(v) for v in text.split()[1:]])


@pytest.mark.parametrize("argv", [
    ["predict", "--train", "{d}/train.csv", "--target", "y", "--query", "{d}/test_clean.csv"],
    ["tune", "--train", "{d}/train.csv", "--target", "y", "--quiet"],
    ["cv", "--model", "nw", "--train", "{d}/train.csv", "--target", "y"],
    ["score", "--true", "{d}/train.csv", "--target", "y", "--pred", "{d}/train.csv"],
], ids=lambda a: a[0])
def test_refused_without_the_flag_which_the_message_names(kreg, data, argv):
    proc = kreg(*[a.format(d=data) for a in argv], check=False)
    assert proc.returncode == 1
    assert "kreg rejects NaN/Inf by default; --allow-nonfinite reads them" in proc.stderr
    assert "--allow-nonfinite" in kreg(argv[0], "--help").stdout


def test_predict_drops_training_rows_and_predicts_nan_for_dirty_queries(kreg, data):
    proc = kreg("predict", "--train", data / "train.csv", "--target", "y", "--query",
                data / "test.csv", "--bandwidth", "0.7", "--allow-nonfinite")
    assert "note: dropped 3 of 73 training rows with NaN/Inf (--allow-nonfinite)" in proc.stderr
    assert "note: predicted NaN for 2 of 22 query rows" in proc.stderr
    assert "R^2 left out 2 of 22 query rows with NaN/Inf" in proc.stderr
    got = numbers(proc.stdout)
    assert got.shape == (22,)
    assert np.isnan(got[:2]).all()
    clean = kreg("predict", "--train", data / "train_clean.csv", "--target", "y", "--query",
                 data / "test_clean.csv", "--bandwidth", "0.7")
    np.testing.assert_array_equal(got[2:], numbers(clean.stdout))
    r2 = [line for line in proc.stderr.splitlines() if line.startswith("R^2:")]
    assert r2 == [line for line in clean.stderr.splitlines() if line.startswith("R^2:")]


def test_predict_drops_a_nan_in_a_separate_target_file(kreg, data, tmp_path):
    (tmp_path / "X.csv").write_text("a\n1\n2\n3\n4\n")
    (tmp_path / "y.csv").write_text("y\n1\nnan\n3\n4\n")
    proc = kreg("predict", "--train", tmp_path / "X.csv", "--train-y", tmp_path / "y.csv",
                "--query", tmp_path / "X.csv", "--allow-nonfinite")
    assert "dropped 1 of 4 training rows" in proc.stderr
    assert np.isfinite(numbers(proc.stdout)).all()


def test_tune_drops_training_and_test_rows(kreg, data):
    argv = ["--target", "y", "--cv", "holdout", "--bandwidths", "0.3,0.7,1.5", "--quiet"]
    proc = kreg("tune", "--train", data / "train.csv", "--test", data / "test.csv", *argv,
                "--allow-nonfinite")
    assert "dropped 3 of 73 training rows" in proc.stderr
    assert "dropped 2 of 22 test rows" in proc.stderr
    clean = kreg("tune", "--train", data / "train_clean.csv", "--test", data / "test_clean.csv",
                 *argv)
    assert proc.stdout == clean.stdout


def test_cv_drops_training_rows(kreg, data):
    argv = ["--model", "nw", "--target", "y", "--folds", 3, "--bandwidth", "0.7"]
    proc = kreg("cv", "--train", data / "train.csv", *argv, "--allow-nonfinite")
    assert "dropped 3 of 73 training rows" in proc.stderr
    clean = kreg("cv", "--train", data / "train_clean.csv", *argv)
    scores = [line.split()[-1] for line in proc.stdout.splitlines() if line[:1].isdigit()]
    assert len(scores) == 3
    assert scores == [line.split()[-1] for line in clean.stdout.splitlines() if line[:1].isdigit()]


def test_score_leaves_out_pairs_with_nan(kreg, tmp_path):
    (tmp_path / "t.csv").write_text("y\n1\nnan\n3\n5\n")
    (tmp_path / "p.csv").write_text("y\n1\n2\ninf\n4\n")
    proc = kreg("score", "--true", tmp_path / "t.csv", "--pred", tmp_path / "p.csv",
                "--metric", "mae", "--allow-nonfinite")
    assert "note: dropped 2 of 4 pairs with NaN/Inf (--allow-nonfinite)" in proc.stderr
    assert proc.stdout.split() == ["mae", "0.5"]  # |1-1| and |5-4| over 2 pairs


def test_nothing_left_is_an_error(kreg, tmp_path):
    (tmp_path / "all.csv").write_text("a,y\nnan,1\n2,inf\n")
    proc = kreg("predict", "--train", tmp_path / "all.csv", "--target", "y", "--query",
                tmp_path / "all.csv", "--allow-nonfinite", check=False)
    assert proc.returncode == 1
    assert "--allow-nonfinite leaves no training rows" in proc.stderr
    proc = kreg("score", "--true", tmp_path / "all.csv", "--target", "y", "--pred",
                tmp_path / "all.csv", "--pred-column", "a", "--allow-nonfinite", check=False)
    assert proc.returncode == 1 and "leaves nothing to score" in proc.stderr


def test_predict_shards_and_merge_keep_the_nan_rows_in_place(kreg, data, tmp_path):
    argv = ["predict", "--train", data / "train.csv", "--target", "y", "--query",
            data / "test.csv", "--bandwidth", "0.7", "--allow-nonfinite"]
    whole = numbers(kreg(*argv).stdout)
    out = tmp_path / "pred.csv"
    for i in range(3):
        kreg(*argv, "--out", out, "--shard", f"{i}/3")
    kreg("merge", out)
    np.testing.assert_array_equal(numbers(out.read_text()), whole)


def test_predict_with_every_query_dirty_writes_nan_and_no_r2(kreg, data, tmp_path):
    (tmp_path / "q.csv").write_text("x0,x1,y\nnan,1,2\n1,inf,3\n")
    proc = kreg("predict", "--train", data / "train.csv", "--target", "y", "--query",
                tmp_path / "q.csv", "--allow-nonfinite")
    assert np.isnan(numbers(proc.stdout)).all() and len(numbers(proc.stdout)) == 2
    assert "predicted NaN for 2 of 2 query rows" in proc.stderr
    assert "no query row has a finite target and prediction: no R^2" in proc.stderr
