"""``exemplar serve``: the page driven in a real headless Chromium, and the API's guards over HTTP.

One server for the module (``match`` at the smallest working size, so a job takes about a second)
on a free loopback port. The browser is Debian's chromium driven through its chromium-driver by
Selenium: nothing is downloaded at test time. Browser tests are skipped, saying why, only when
those binaries are not installed; CI (``.ci/run``) installs them.
"""

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install '.[web]'")
pytest.importorskip("uvicorn", reason="the web extra is not installed: pip install '.[web]'")

from exemplar.core.color import rgb_to_lab  # noqa: E402
from exemplar.core.image_io import read_image, write_image  # noqa: E402

MAX_UPLOAD_MB = 0.2
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The photos and bad files the tests upload, 96x64."""
    folder = tmp_path_factory.mktemp("serve_inputs")
    y, x = np.mgrid[0:64, 0:96].astype(np.float32)
    colour = np.clip(np.stack([x / 95, y / 63, 0.5 + 0.4 * np.sin(x / 7 + y / 11)], -1), 0, 1)
    grey = colour.mean(axis=2)
    paths = {"target": folder / "old photo.png", "reference": folder / "reference.png",
             "grey_reference": folder / "grey reference.png", "not_image": folder / "notes.png",
             "too_big": folder / "huge.jpg", "target16": folder / "scan16.png"}
    write_image(paths["target"], grey)
    write_image(paths["reference"], colour[:, ::-1])
    write_image(paths["grey_reference"], grey[::-1])
    paths["not_image"].write_text("these are my notes, not a photo\n")
    paths["too_big"].write_bytes(np.random.default_rng(0).bytes(int(MAX_UPLOAD_MB * 1e6) + 1000))
    write_image(paths["target16"], grey, alpha=np.linspace(0, 1, 96, dtype=np.float32)[None].repeat(64, 0),
                bit_depth=16)
    return paths


@pytest.fixture(scope="module")
def server():
    from exemplar.serve.server import Server

    server = Server(port=0, method="match", size=64, max_upload_mb=MAX_UPLOAD_MB).start()
    assert server.wait_ready(), server.jobs.load_error
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium + chromedriver on this machine (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install '.[web]'")
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


# ---------------------------------------------------------------- helpers


def wait_for(condition, timeout=60.0, what="the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def open_page(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server.url)
    wait_for(lambda: "Ready" in browser.find_element(By.ID, "status").text, what="the model to be ready")


def add_file(browser, input_id, path, list_id=None):
    """Choose ``path`` in a file input; wait for its chip in ``list_id`` (if given)."""
    from selenium.webdriver.common.by import By

    before = len(browser.find_elements(By.CSS_SELECTOR, f"#{list_id} .chip")) if list_id else 0
    browser.find_element(By.ID, input_id).send_keys(str(path))
    if list_id:
        wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, f"#{list_id} .chip")) > before,
                 what=f"{path.name} in #{list_id}")


def messages(browser):
    from selenium.webdriver.common.by import By

    return " | ".join(item.text for item in browser.find_elements(By.CSS_SELECTOR, "#message li"))


def colorize_and_wait(browser):
    """Click Colorize; -> the newest job's state ('done' or 'failed') once it has finished."""
    from selenium.webdriver.common.by import By

    newest = "const job = document.querySelector('#queue .job'); return job && [job.dataset.id, job.dataset.state];"
    before = browser.execute_script(newest)
    browser.find_element(By.ID, "colorize").click()

    def finished():  # read in the page: the queue is redrawn on every poll, so held elements go stale
        job = browser.execute_script(newest)
        return job and job != before and job[1] in ("done", "failed") and job[1]

    return wait_for(finished, what="the job to finish")


def lightness(image):
    return rgb_to_lab(image.rgb)[..., 0]


def request(server, path, data=None, content_type="application/json"):
    """-> (status, decoded JSON or raw bytes) for a GET (data None) or POST."""
    req = urllib.request.Request(server.url + path, data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, body, kind = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        status, body, kind = error.code, error.read(), error.headers.get("Content-Type", "")
    return status, json.loads(body) if kind.startswith("application/json") else body


def upload(server, path, role, name=None):
    return request(server, f"/api/uploads?role={role}&name={urllib.parse.quote(name or path.name)}",
                   path.read_bytes(), "application/octet-stream")


def run_job(server, spec):
    """Submit a job over HTTP; -> its state once finished."""
    status, job = request(server, "/api/jobs", json.dumps(spec).encode())
    assert status == 202, job

    def finished():
        state = request(server, f"/api/jobs?ids={job['id']}")[1]["jobs"][0]
        return state if state["state"] in ("done", "failed") else None

    return wait_for(finished, what="the job")


# ---------------------------------------------------------------- in the browser


def test_bad_inputs_are_answered_on_the_page(browser, server, files):
    from selenium.webdriver.common.by import By

    open_page(browser, server)
    add_file(browser, "target-input", files["not_image"])
    wait_for(lambda: "notes.png: is not an image file" in messages(browser), what="the not-an-image message")
    add_file(browser, "target-input", files["too_big"])
    wait_for(lambda: "huge.jpg: the file is 0.2 MB; this server accepts files up to 0.2 MB" in messages(browser),
             what="the size-limit message")
    add_file(browser, "target-input", files["target"], "targets")
    add_file(browser, "reference-input", files["grey_reference"])
    wait_for(lambda: "grey reference.png: this reference is black-and-white" in messages(browser),
             what="the grey-reference message")
    assert not browser.find_elements(By.CSS_SELECTOR, "#references .chip")  # the grey one was not added

    # No reference and no palette: automatic colorization where the colorizer (and method) has it,
    # else the colorizer's own message, on the page.
    browser.find_element(By.CSS_SELECTOR, "label:has(#mode-automatic)").click()
    if colorize_and_wait(browser) == "failed":
        detail = browser.find_element(By.CSS_SELECTOR, "#queue .job .detail").text
        assert "reference" in detail and "palette" in detail and detail in messages(browser)


def test_photo_and_reference_give_a_download_with_the_input_lightness(browser, server, files):
    from selenium.webdriver.common.by import By

    open_page(browser, server)  # after the bad inputs above: the same server still serves
    add_file(browser, "target-input", files["target"], "targets")
    add_file(browser, "reference-input", files["reference"], "references")
    assert colorize_and_wait(browser) == "done", messages(browser)
    after = browser.find_element(By.ID, "after")
    wait_for(lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", after),
             what="the result preview")
    link = wait_for(lambda: browser.find_element(By.ID, "download").is_displayed() and
                    browser.find_element(By.ID, "download"), what="the download link")
    link.click()
    saved = browser.downloads / "old_photo_colorized.png"
    wait_for(saved.exists, what=f"the download {saved.name}")
    result, target = read_image(saved), read_image(files["target"])
    assert result.rgb.shape == target.rgb.shape
    assert np.abs(lightness(result) - lightness(target)).max() < 0.6  # 8-bit rounding of the output
    assert np.hypot(*np.moveaxis(rgb_to_lab(result.rgb)[..., 1:], -1, 0)).mean() > 3  # it has colour


def test_palette_run_in_the_browser(browser, server, files):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(browser, server)
    add_file(browser, "target-input", files["target"], "targets")
    browser.find_element(By.CSS_SELECTOR, "label:has(#mode-palette)").click()
    Select(browser.find_element(By.ID, "palette-builtin")).select_by_value("autumn")
    assert colorize_and_wait(browser) == "done", messages(browser)
    job_id = browser.find_element(By.CSS_SELECTOR, "#queue .job").get_attribute("data-id")
    status, body = request(server, f"/api/jobs/{job_id}/result")
    assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n"

    # Colours taken from an image land in the colour pickers and colour the photo too.
    add_file(browser, "palette-input", files["reference"])
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#custom-colours input[type=color]")) == 5,
             what="the image's colours in the pickers")
    assert browser.find_element(By.ID, "palette-kind-custom").is_selected()
    assert colorize_and_wait(browser) == "done", messages(browser)


def test_film_in_the_video_tab(browser, server, files, tmp_path):
    av = pytest.importorskip("av", reason="PyAV is not installed (exemplar video needs it)")
    from selenium.webdriver.common.by import By

    film = tmp_path / "old film.mp4"
    with av.open(str(film), "w") as out:  # 8 grey frames, 96x64, a bright square moving right
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(8):
            frame = np.full((64, 96), 90, np.uint8)
            frame[16:40, 8 + 4 * i : 32 + 4 * i] = 210
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.dstack([frame] * 3), format="rgb24")))
        out.mux(stream.encode(None))
    open_page(browser, server)
    browser.find_element(By.ID, "tab-video").click()
    add_file(browser, "video-input", film, "videos")
    add_file(browser, "reference-input", files["reference"], "references")
    assert colorize_and_wait(browser) == "done", messages(browser)
    job_id = browser.find_element(By.CSS_SELECTOR, "#queue .job").get_attribute("data-id")
    assert browser.find_element(By.ID, "result-video").is_displayed()
    status, mp4 = request(server, f"/api/jobs/{job_id}/result")
    coloured = tmp_path / "coloured.mp4"
    coloured.write_bytes(mp4)
    with av.open(str(coloured)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]
    assert status == 200 and len(frames) == 8 and frames[0].shape == (64, 96, 3)


# ---------------------------------------------------------------- over HTTP


def test_sixteen_bit_and_alpha_are_kept_in_the_result(server, files):
    target, reference = upload(server, files["target16"], "target")[1], upload(server, files["reference"], "reference")[1]
    assert target["bit_depth"] == 16 and target["alpha"]
    job = run_job(server, {"target": target["id"], "references": [reference["id"]]})
    assert job["state"] == "done", job["message"]
    status, png = request(server, f"/api/jobs/{job['id']}/result")
    import cv2

    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint16 and decoded.shape == (64, 96, 4)
    np.testing.assert_array_equal(decoded[..., 3], cv2.imread(str(files["target16"]), cv2.IMREAD_UNCHANGED)[..., 3])


def test_no_request_reaches_a_path(server, files):
    root = server.workspace.root
    status, body = upload(server, files["reference"], "reference", name="../../../../tmp/evil.png")
    assert status == 200 and body["name"] == "evil.png"
    assert not any(p.name.startswith("evil") for p in root.rglob("*"))  # stored under a server-made id
    for spec in ({"target": "../../etc/passwd"}, {"target": "/etc/passwd"},
                 {"target": body["id"]},  # a reference is not a target
                 {"target": 5, "references": ["/etc/passwd"]}, {"target": body["id"], "library": [0]}):
        status, answer = request(server, "/api/jobs", json.dumps(spec).encode())
        assert status in (400, 404) and answer["error"], spec
    for path in ("/api/jobs/..%2F..%2Fetc%2Fpasswd/result", "/..%2F..%2Fetc%2Fpasswd", "/api/uploads/%2Fetc%2Fpasswd/preview",
                 "/api/library/0/thumb", "/etc/passwd"):
        assert request(server, path)[0] == 404, path
    status, answer = request(server, "/api/uploads?role=target&name=x.png", b"\0" * int(MAX_UPLOAD_MB * 1e6 + 10),
                             "application/octet-stream")
    assert status == 413 and "accepts files up to" in answer["error"]
    assert request(server, "/api/jobs", b"not json")[0] == 400


def test_queue_is_capped_and_survives_a_failing_job():
    from exemplar.core.errors import ExemplarError
    from exemplar.serve.jobs import JobQueue, QueueFull

    gate = threading.Event()

    class Engine:
        def load(self):
            pass

        def run(self, job):
            gate.wait(10)
            if job.spec == "bad":
                raise ExemplarError("photo.png: that went wrong")
            if job.spec == "bug":
                raise ZeroDivisionError("division by zero")

        def forget(self, job):
            pass

    jobs = JobQueue(Engine(), max_waiting=3)
    submitted = [jobs.submit("a", "bad"), jobs.submit("b", "bug")]
    wait_for(lambda: jobs.status(submitted[0].id)["state"] == "running", what="the first job to start")
    submitted += [jobs.submit("c", "good"), jobs.submit("d", "good")]
    with pytest.raises(QueueFull):
        jobs.submit("e", "good")
    assert jobs.status(submitted[3].id)["position"] == 3
    gate.set()
    wait_for(lambda: jobs.status(submitted[3].id)["state"] == "done", what="the queue to drain")
    states = [jobs.status(job.id) for job in submitted]
    assert [s["state"] for s in states] == ["failed", "failed", "done", "done"]
    assert states[0]["message"] == "photo.png: that went wrong" and "ZeroDivisionError" in states[1]["message"]
    jobs.stop()


def test_serve_help_is_instant_and_needs_no_tensorflow():
    code = ("import sys; from click.testing import CliRunner; from exemplar.cli.main import main; "
            "r = CliRunner().invoke(main, ['serve', '--help']); assert r.exit_code == 0, r.output; "
            "assert '--reference-dir' in r.output and '--port' in r.output; "
            "assert 'tensorflow' not in sys.modules and 'starlette' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
