"""`kreg tutorial`: the quick run end to end (its tables, results.json and
index.html agreeing number for number), the commands the page prints
reproducing its figures, what it skips and why, its errors, and the page in a
real browser (headless Chromium: no console messages, every chart and image
drawn, the numbers the browser shows equal results.json's, a screenshot kept
in the build directory)."""
import base64
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

SECTIONS = ["1. Compute environment", "2. Nadaraya-Watson on the tutorial's data",
            "3. Inference on independent samples", "4. Bandwidth tuning",
            "5. Cross-validation folds in parallel", "6. Offline data augmentation"]
FASHION = Path("/usr/share/datasets/fashion-mnist")


class PageParser(HTMLParser):
    """The cells that name a number of results.json, the figures, the commands
    (pre blocks) and the external references of a page."""

    def __init__(self):
        super().__init__()
        self.numbers = []  # (pointer, digits, text)
        self.figures = []  # figure ids
        self.commands = []
        self.external = []  # src/href values that are not data: URIs or anchors
        self.attrs_stack = []
        self.text = []
        self.in_pre = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("td", "th") and "data-json" in a:
            self.attrs_stack.append((a["data-json"], int(a["data-digits"])))
            self.text = []
        if tag == "figure":
            self.figures.append(a.get("id"))
        if tag == "pre":
            self.in_pre, self.text = True, []
        for key in ("src", "href", "xlink:href"):
            value = a.get(key)
            if value is not None and not value.startswith(("data:", "#")):
                self.external.append(value)

    def handle_data(self, data):
        self.text.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.attrs_stack:
            pointer, digits = self.attrs_stack.pop()
            self.numbers.append((pointer, digits, "".join(self.text)))
        if tag == "pre":
            self.in_pre = False
            self.commands.append("".join(self.text))


def parse(html):
    p = PageParser()
    p.feed(html)
    return p


def at(results, pointer):
    value = results
    for part in pointer.lstrip("/").split("/"):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def has_gpu(kreg):
    info = json.loads(kreg("info", "--json").stdout)
    return any(e["device"] != "cpu" for e in info["engines"])


@pytest.fixture(scope="module")
def quick_run(kreg_bin, tmp_path_factory):
    """One `kreg tutorial --quick` in a scratch directory (--out-dir report)."""
    if not FASHION.is_dir():
        pytest.skip(f"no Fashion-MNIST at {FASHION} (scripts/bootstrap installs "
                    "dataset-fashion-mnist)")
    cwd = tmp_path_factory.mktemp("tutorial")
    proc = subprocess.run([kreg_bin, "tutorial", "--quick", "--out-dir", "report"], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = cwd / "report"
    results = json.loads((report / "results.json").read_text())
    html = (report / "index.html").read_text()
    print(f"kreg tutorial --quick wrote {report}")
    return cwd, proc, results, html


def test_terminal_tables(quick_run):
    _, proc, results, _ = quick_run
    out = proc.stdout
    positions = [out.index(f"== {title} ==") for title in SECTIONS]
    assert positions == sorted(positions)
    # The tutorial's R^2 at h = 0.5, by every CPU engine.
    for engine in ("reference", "vectorized", "fused"):
        assert f"{results['nadaraya_watson'][engine]['r2']:.6f}" == "0.788018"
        assert re.search(rf"^  {engine} .* 0\.788018 ", out, re.M), out
    # The naive loop is extrapolated from a sample, and says so.
    naive = results["nadaraya_watson"]["naive"]
    assert naive["sample_queries"] < 2000
    assert naive["seconds_extrapolated"] == pytest.approx(
        naive["sample_seconds"] * 2000 / naive["sample_queries"])
    assert f"{naive['sample_queries']} queries timed, x {2000 // naive['sample_queries']}" in out
    # Units in the headers, numbers right-aligned under them.
    assert "time, s" in out and "rate, GFLOP/s" in out and "images/s" in out
    header = next(line for line in out.splitlines() if line.startswith("  product "))
    row = next(line for line in out.splitlines() if line.startswith("  A @ B"))
    assert header.index("rate, GFLOP/s") + len("rate, GFLOP/s") == \
        row.index(f"{results['environment']['product']['gflops']:.1f}") + \
        len(f"{results['environment']['product']['gflops']:.1f}")


def test_every_number_on_the_page_is_in_results_json(quick_run):
    _, _, results, html = quick_run
    page = parse(html)
    assert len(page.numbers) > 60
    for pointer, digits, text in page.numbers:
        assert text == f"{at(results, pointer):.{digits}f}", pointer


def test_page_is_self_contained_with_commands_under_figures(quick_run):
    _, _, _, html = quick_run
    page = parse(html)
    assert page.external == []
    assert "<script" not in html
    assert page.figures == ["fig-bandwidth-synthetic", "fig-bandwidth-pixels", "fig-contact-sheet"]
    for fig in re.findall(r"<figure.*?</figure>", html, re.S):
        assert "<svg" in fig and "<figcaption>" in fig and "<pre><code>kreg " in fig
    # The contact sheet's PNG is embedded, the originals' column marked.
    assert 'href="data:image/png;base64,iVBORw0KGgo' in html
    assert 'class="originals"' in html and ">original</text>" in html
    # Charts as a statistician reads them: a band across folds, a dot per
    # bandwidth scored, the best ringed; axis labels without nested parentheses.
    assert html.count('class="band"') == 2
    for label in re.findall(r'class="[xy]-label"[^>]*>(.*?)</text>', html):
        assert not re.search(r"\([^)]*\(", label), label
    assert "Machine: " in html


def test_bandwidth_grids_are_finite_where_the_tutorial_died_of_nan(quick_run):
    _, _, results, _ = quick_run
    for data in ("synthetic", "pixels"):
        for search in results["bandwidth_tuning"][data].values():
            assert len(search["h"]) == 30
            assert all(isinstance(v, float) for v in search["mean"]), search["mean"]
    cv = results["bandwidth_tuning"]["synthetic"]["kfold5"]
    assert len(cv["splits"][0]) == 5 and cv["std"][0] > 0


def test_gpu_rows_say_why_they_are_skipped(quick_run, kreg):
    _, proc, results, html = quick_run
    if has_gpu(kreg):
        assert "gpu" not in results["nadaraya_watson"], "a GPU engine ran: its own row"
    else:
        assert results["nadaraya_watson"]["gpu"] == "skipped: no GPU here"
        assert results["inference"]["modes"]["gpu"] == "skipped: no GPU here"
        assert "skipped: no GPU here" in proc.stdout and "skipped: no GPU here" in html


def test_page_commands_reproduce_the_pixel_chart(quick_run, kreg_bin):
    """The command under the pixel chart, run as printed, finds the same best h."""
    cwd, _, results, html = quick_run
    command = next(c for c in parse(html).commands if "pixels-train-images.idx" in c)
    argv = shlex.split(command.split("#")[0])
    assert argv[0] == "kreg"
    proc = subprocess.run([kreg_bin, *argv[1:], "--out", "tune.json", "--quiet"], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    tune = json.loads((cwd / "tune.json").read_text())
    ours = results["bandwidth_tuning"]["pixels"]["holdout"]
    assert tune["best_bandwidth"] == pytest.approx(ours["best_h"], rel=1e-12)
    assert tune["cv_results"]["mean_test_score"] == pytest.approx(ours["mean"], rel=1e-9)


def page_command_lines(html, needle):
    """The kreg command lines of the first command block containing `needle`,
    as argument lists, comments dropped."""
    block = next(c for c in parse(html).commands if needle in c)
    return [shlex.split(line.split("#")[0]) for line in block.splitlines()]


def run_page_line(kreg_bin, cwd, argv, *extra):
    assert argv[0] == "kreg", argv
    proc = subprocess.run([kreg_bin, *argv[1:], *extra], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_page_commands_reproduce_the_synthetic_chart_and_table(quick_run, kreg_bin):
    cwd, _, results, html = quick_run
    lines = page_command_lines(html, "--cv loo")
    assert [argv[1] for argv in lines] == ["generate", "tune", "tune", "tune"]
    run_page_line(kreg_bin, cwd, lines[0])
    for argv, key in zip(lines[1:], ["holdout", "loo", "kfold5"]):
        run_page_line(kreg_bin, cwd, argv, "--out", f"{key}.json", "--quiet")
        tune = json.loads((cwd / f"{key}.json").read_text())
        ours = results["bandwidth_tuning"]["synthetic"][key]
        assert tune["best_bandwidth"] == pytest.approx(ours["best_h"], rel=1e-12)
        assert tune["cv_results"]["mean_test_score"] == pytest.approx(ours["mean"], rel=1e-9)
        assert (cwd / argv[argv.index("--plot") + 1]).stat().st_size > 0
    # Section 2's table: the same R^2 from kreg predict.
    for argv in page_command_lines(html, "kreg predict"):
        if argv[1] == "predict":
            proc = run_page_line(kreg_bin, cwd, argv)
            r2 = results["nadaraya_watson"]["fused"]["r2"]
            assert f"R^2: {r2:.6f}" in proc.stderr


def test_page_command_reproduces_the_contact_sheet(quick_run, kreg_bin):
    """kreg augment, as the page prints it, writes the very PNG the page embeds."""
    cwd, _, _, html = quick_run
    (argv,) = page_command_lines(html, "kreg augment")
    run_page_line(kreg_bin, cwd, argv)
    png = (cwd / argv[argv.index("--preview") + 1]).read_bytes()
    embedded = re.search(r'href="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(embedded) == png


def test_page_command_reproduces_the_fold_scores(quick_run, kreg_bin):
    cwd, _, results, html = quick_run
    (argv,) = page_command_lines(html, "kreg cv")
    run_page_line(kreg_bin, cwd, argv, "--out", "cv.json")
    cv = json.loads((cwd / "cv.json").read_text())
    folds = results["cross_validation"]["folds"]
    assert [f["test_score"] for f in cv["folds"]] == [f["accuracy"] for f in folds]


def test_without_images_the_image_sections_say_why(kreg_bin, tmp_path):
    proc = subprocess.run([kreg_bin, "tutorial", "--quick", "--out-dir", str(tmp_path / "r"),
                           "--data", str(tmp_path / "nothing")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for what in ("inference", "cross-validation", "augmentation", "the grid on image pixels"):
        assert re.search(rf"skipped: {what}: --data '.*nothing' is not a directory", proc.stdout), \
            proc.stdout
    html = (tmp_path / "r" / "index.html").read_text()
    assert "Skipped: augmentation: --data" in html
    assert "dataset-fashion-mnist" in html


@pytest.mark.parametrize("args, message", [
    (["--jobs", "0"], "--jobs"),
    (["--out-dir", "{file}/sub"], "cannot create --out-dir"),
])
def test_errors(kreg_bin, tmp_path, args, message):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    argv = [a.replace("{file}", str(blocker)) for a in args]
    proc = subprocess.run([kreg_bin, "tutorial", "--quick", *argv], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
    assert proc.stdout == ""


# ------------------------------------------------------------ browser ----

# Added at the top of a copy of the page: records every error event from
# then on (scripts, and resources that fail to load: an image, a stylesheet),
# then after load measures every figure's drawing and decodes every embedded
# image onto a canvas, and writes the findings into the DOM for --dump-dom.
CHECK_SCRIPT = """<script>
window.kregErrors = [];
window.addEventListener("error", e => {
  const t = e.target;
  window.kregErrors.push(t && t !== window ? `${t.tagName} ${t.src || t.href || ""}`
                                           : String(e.message));
}, true);
window.addEventListener("load", async () => {
  const figures = [...document.querySelectorAll("figure")].map(f => {
    const svg = f.querySelector("svg");
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    const drawn = svg ? svg.querySelectorAll("polyline, polygon, circle, image").length : 0;
    return {id: f.id, width: box.width, height: box.height, drawn: drawn};
  });
  // An image counts when it decodes to pixels that are not all one value.
  const images = await Promise.all([...document.querySelectorAll("image, img")].map(el =>
    new Promise(resolve => {
      const img = new Image();
      img.onload = () => {
        const c = document.createElement("canvas");
        c.width = img.naturalWidth;
        c.height = img.naturalHeight;
        const g = c.getContext("2d");
        g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        const values = new Set();
        for (let i = 0; i < px.length; i += 4) values.add(px[i] * 256 + px[i + 3]);
        resolve({width: img.naturalWidth, height: img.naturalHeight, values: values.size});
      };
      img.onerror = () => resolve({width: 0, height: 0, values: 0});
      img.src = el.getAttribute("href") || el.getAttribute("src");
    })));
  document.body.dataset.figures = JSON.stringify(figures);
  document.body.dataset.images = JSON.stringify(images);
  document.body.dataset.errors = JSON.stringify(window.kregErrors);
});
</script>"""


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(*args):
    browser = chromium()
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr",
                           "--v=0", *args], capture_output=True, text=True, timeout=180)


def test_page_in_a_real_browser(quick_run, kreg_bin, tmp_path):
    if chromium() is None:
        pytest.skip("no chromium to open the page with (scripts/bootstrap installs Debian's "
                    "chromium)")
    cwd, _, results, html = quick_run
    page = tmp_path / "index.html"
    page.write_text(html)
    url = page.as_uri()

    # The page as it is: no console message at all (it has no script, so any
    # is the browser reporting a problem), and a screenshot to look at.
    shot = Path(kreg_bin).parent / "tutorial-screenshot.png"
    proc = run_chromium("--window-size=1100,7000", f"--screenshot={shot}", url)
    assert proc.returncode == 0, proc.stderr
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    assert shot.stat().st_size > 100_000
    print(f"screenshot of the page: {shot}")

    # The same page with the measuring script: every chart drawn and sized,
    # the contact sheet's PNG decoded, and the numbers the browser shows equal
    # to results.json's.
    checked = tmp_path / "checked.html"
    checked.write_text(html.replace("<head>", "<head>\n" + CHECK_SCRIPT, 1))
    proc = run_chromium("--virtual-time-budget=10000", "--dump-dom", checked.as_uri())
    assert proc.returncode == 0, proc.stderr
    dom = proc.stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert "data-js-error" not in body, body
    attrs = dict(re.findall(r'data-(figures|images|errors)="([^"]*)"', body))
    assert set(attrs) == {"figures", "images", "errors"}, body[:500]
    unescape = lambda s: json.loads(s.replace("&quot;", '"').replace("&amp;", "&"))
    assert unescape(attrs["errors"]) == []
    figures = unescape(attrs["figures"])
    assert [f["id"] for f in figures] == ["fig-bandwidth-synthetic", "fig-bandwidth-pixels",
                                          "fig-contact-sheet"]
    for f in figures:
        assert f["width"] > 300 and f["height"] > 300 and f["drawn"] > 0, f
    images = unescape(attrs["images"])
    assert len(images) == 1
    assert images[0]["width"] == 5 * 28 + 4 and images[0]["height"] == 8 * 28 + 7, images
    assert images[0]["values"] > 100, images
    rendered = parse(dom)
    assert len(rendered.numbers) == len(parse(html).numbers)
    for pointer, digits, text in rendered.numbers:
        assert text == f"{at(results, pointer):.{digits}f}", pointer


def test_interrupt_writes_no_page(kreg_bin, tmp_path):
    """Ctrl-C in the middle of a section: exit 130, and neither file written."""
    proc = subprocess.Popen([kreg_bin, "tutorial", "--quick", "--out-dir", str(tmp_path / "r")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Section 1's table is printed (and flushed) when it ends; section 2,
        # seconds of Nadaraya-Watson, is running when the signal comes.
        for line in proc.stdout:
            if line.startswith("== 1."):
                break
        for line in proc.stdout:
            if line.startswith("  skipped:") or line.startswith("== 2."):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not (tmp_path / "r" / "index.html").exists()
    assert not (tmp_path / "r" / "results.json").exists()


TIMING = re.compile(r"seconds|per_second|gflops|speedup|percent_of_peak|threads")


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if not TIMING.search(k)}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def test_results_are_the_same_bits_on_one_thread(quick_run, kreg_bin, tmp_path):
    """Every number but the timings is the same with --jobs 1 as on all cores."""
    _, _, results, _ = quick_run
    proc = subprocess.run([kreg_bin, "tutorial", "--quick", "--jobs", "1", "--out-dir",
                           str(tmp_path / "r")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    one = json.loads((tmp_path / "r" / "results.json").read_text())
    assert without_timings(one) == without_timings(results)
    assert one["bandwidth_tuning"]["pixels"]["kfold5"]["splits"] == \
        results["bandwidth_tuning"]["pixels"]["kfold5"]["splits"]
