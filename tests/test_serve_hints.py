"""Colour hints on the web page: a click on the result adds a hint, the photo is colorized again and
changes at that spot; hints move and go; the server checks them; defaults come from /api/config.

A server with a tiny untrained hinted model (``ColorNet(width=8, hist_bins=11, hints=True)``,
random-init encoder) answers in about a second a job. The browser and helpers are test_serve's.
"""

import json

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install '.[web]'")

from exemplar.core.color import rgb_to_lab  # noqa: E402
from test_serve import (add_file, browser, colorize_and_wait, files, messages, open_page, request,  # noqa: E402, F401
                        server, upload, wait_for)

BLUE = "#1f4fd8"


@pytest.fixture(scope="module")
def grey_photo(tmp_path_factory):
    """A 128x96 grey photo: a mid-grey left half (L 49: the hint colour fits the sRGB gamut) and a
    bright right half."""
    image = np.full((96, 128), 118, np.uint8)
    image[:, 64:] = 230
    path = tmp_path_factory.mktemp("hint_photo") / "grey photo.png"
    cv2.imwrite(str(path), image)
    return path


@pytest.fixture(scope="module")
def hinted_server(tmp_path_factory):
    import keras

    from exemplar.model.encoder import EfficientNetLite0
    from exemplar.model.color_net_weights import save_color_net
    from exemplar.model.color_net import ColorNet
    from exemplar.serve.server import Server

    keras.utils.set_random_seed(3)
    folder = tmp_path_factory.mktemp("hinted_model")
    save_color_net(ColorNet(width=8, hist_bins=11, hints=True), folder)
    encoder = EfficientNetLite0(weights=None)  # random init: fast, and nothing to read
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("exemplar.model.encoder.EfficientNetLite0", lambda **kwargs: encoder)
        server = Server(port=0, method="net", size=96, weights=str(folder)).start()
        assert server.wait_ready(), server.jobs.load_error
        yield server
        server.stop()


def preview_ab(server, job_id):
    """(H, W, 2) Lab ab of a job's preview, as the page shows it."""
    status, png = request(server, f"/api/jobs/{job_id}/preview")
    assert status == 200
    rgb = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0
    return rgb_to_lab(rgb)[..., 1:]


def newest_job(browser):
    return browser.execute_script("const j = document.querySelector('#queue .job'); return j && j.dataset.id;")


def wait_for_new_result(browser, before):
    """Wait for a job newer than ``before`` to finish; -> its id (it must have succeeded)."""
    def finished():
        state = browser.execute_script(
            "const j = document.querySelector('#queue .job'); return j && [j.dataset.id, j.dataset.state];")
        return state and state[0] != before and state[1] in ("done", "failed") and state

    job_id, state = wait_for(finished, what="the photo to be colorized again")
    assert state == "done", messages(browser)
    wait_for(lambda: browser.execute_script("return document.getElementById('after').src.includes(arguments[0]) && "
                                            "document.getElementById('after').complete", job_id),
             what="the new result in the view")
    return job_id


def click_photo(browser, fx, fy):
    """Click the result at fractions (fx, fy) of the photo."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    layer = browser.find_element(By.ID, "hint-layer")
    wait_for(lambda: layer.size["width"] > 10, what="the hint layer over the photo")
    size = layer.size
    ActionChains(browser).move_to_element_with_offset(
        layer, int((fx - 0.5) * size["width"]), int((fy - 0.5) * size["height"])).click().perform()


def set_value(browser, element, value):
    """Set an input's value as the user would, ending with its change event."""
    browser.execute_script("arguments[0].value = arguments[1];"
                           "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", element, value)


def test_a_click_adds_a_hint_and_the_result_changes_at_that_spot(browser, hinted_server, grey_photo):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    server = hinted_server
    open_page(browser, server)
    assert browser.find_element(By.ID, "vividness").get_attribute("value") == "0.62"  # from /api/config
    add_file(browser, "target-input", grey_photo, "targets")
    browser.find_element(By.CSS_SELECTOR, "label:has(#mode-automatic)").click()
    assert colorize_and_wait(browser) == "done", messages(browser)
    first = newest_job(browser)
    wait_for(lambda: browser.execute_script("return document.getElementById('after').complete && "
                                            "document.getElementById('after').naturalWidth"), what="the result")
    plain = preview_ab(server, first)

    click_photo(browser, 0.25, 0.5)  # the grey left half
    pickers = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#hints input[type=color]"), what="the hint")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#hint-layer .hint-marker")) == 1
    # The picker starts at the colour the result has there now.
    start = pickers[0].get_attribute("value")
    rgb = np.float32([int(start[i : i + 2], 16) for i in (1, 3, 5)])[None, None] / 255
    np.testing.assert_allclose(rgb_to_lab(rgb)[0, 0, 1:], plain[48, 32], atol=2.0)

    set_value(browser, pickers[0], BLUE)  # the user picks blue: the photo is colorized again
    hinted = wait_for_new_result(browser, first)
    job = server.jobs.get(hinted)
    (x, y, colour), = job.spec["hints"]
    assert colour == BLUE and x.endswith("%") and abs(float(x[:-1]) - 25) < 3 and abs(float(y[:-1]) - 50) < 3
    blue_ab = rgb_to_lab(np.float32([[[0x1F, 0x4F, 0xD8]]]) / 255)[0, 0, 1:]
    after = preview_ab(server, hinted)
    assert np.abs(after[48, 32] - blue_ab).max() < 10  # the hint's colour at its spot
    assert np.abs(after[48, 32] - plain[48, 32]).max() > 20  # the result changed there

    # Moved by editing its position (pixels of the photo), then by dragging its dot.
    x_input = browser.find_element(By.CSS_SELECTOR, "#hints input[aria-label='x of hint 1']")
    set_value(browser, x_input, "16")
    moved = wait_for_new_result(browser, hinted)
    assert server.jobs.get(moved).spec["hints"][0][0] == f"{100 * 16.5 / 128:.4f}%"
    marker = browser.find_element(By.CSS_SELECTOR, "#hint-layer .hint-marker")
    quarter = int(0.25 * browser.find_element(By.ID, "hint-layer").size["height"])
    ActionChains(browser).drag_and_drop_by_offset(marker, 0, -quarter).perform()  # up by a quarter of the photo
    dragged = wait_for_new_result(browser, moved)
    assert abs(float(server.jobs.get(dragged).spec["hints"][0][1][:-1]) - 25) < 4  # y went from 50% to 25%

    # Removed: colorized again without hints, the same as the first result.
    browser.find_element(By.CSS_SELECTOR, "#hints li button").click()
    removed = wait_for_new_result(browser, dragged)
    assert server.jobs.get(removed).spec["hints"] == []
    assert not browser.find_elements(By.CSS_SELECTOR, "#hint-layer .hint-marker")
    np.testing.assert_allclose(preview_ab(server, removed), plain, atol=1e-3)


def test_a_model_without_the_hint_input_says_so_on_the_page(browser, server, files):
    from selenium.webdriver.common.by import By

    status, config = request(server, "/api/config")
    assert config["hints"] is False and "net method" in config["hints_note"]
    assert config["defaults"]["vividness"] is None  # match has no vividness: its slider is hidden
    open_page(browser, server)
    assert not browser.find_element(By.ID, "vividness-row").is_displayed()
    add_file(browser, "target-input", files["target"], "targets")
    add_file(browser, "reference-input", files["reference"], "references")
    assert colorize_and_wait(browser) == "done", messages(browser)
    wait_for(lambda: browser.find_element(By.ID, "hints-panel").is_displayed(), what="the hints panel")
    assert "Not available" in browser.find_element(By.ID, "hints-note").text
    click_photo(browser, 0.5, 0.3)
    wait_for(lambda: "Colour hints: colour hints need the net method" in messages(browser), what="the no-hints message")
    assert not browser.find_elements(By.CSS_SELECTOR, "#hints li")


def test_the_server_checks_hints(hinted_server, server, grey_photo, tmp_path):
    target = upload(hinted_server, grey_photo, "target")[1]
    good = {"x": 0.5, "y": 0.5, "colour": "navy"}
    for hints, problem in (
        ([{"x": 1.5, "y": 0.5, "colour": "red"}], "hint 1: (1.5, 0.5) is outside the picture"),
        ([good, {"x": 200, "y": 5, "colour": "red", "units": "pixels"}], "hint 2: (200, 5) is outside the picture"),
        ([{"x": 5, "y": 5, "colour": "blurple", "units": "pixels"}], "hint 1: cannot read the colour 'blurple'"),
        ([{"x": 0.1, "y": 0.1}], "hint 1: needs x, y and colour"),
        ([{"x": "left", "y": 0.1, "colour": "red"}], "hint 1: x and y must be numbers"),
        ([good] * 65, "65 hints given; at most 64"),
        ("red", "hints must be a list"),
    ):
        body = json.dumps({"target": target["id"], "hints": hints}).encode()
        status, answer = request(hinted_server, "/api/jobs", body)
        assert status == 400 and problem in answer["error"], (hints, answer)
    job = {"target": target["id"], "hints": [{"x": 10, "y": 20, "colour": "#c0392b", "units": "pixels"}]}
    status, answer = request(hinted_server, "/api/jobs", json.dumps(job).encode())
    assert status == 202
    assert hinted_server.jobs.get(answer["id"]).spec["hints"] == [(10.0, 20.0, "#c0392b")]
    # A server whose model has no hint input refuses them, saying why.
    target = upload(server, grey_photo, "target")[1]
    status, answer = request(server, "/api/jobs", json.dumps({"target": target["id"], "hints": [good]}).encode())
    assert status == 400 and "need the net method" in answer["error"]


def test_film_jobs_pass_vividness(monkeypatch, tmp_path):
    """The film path gives the job's vividness to the film job (it was dropped before), with the
    server's own colorizer (models loaded once)."""
    from exemplar.serve import engine as engine_module
    from exemplar.serve.jobs import Job

    seen = []
    colorizer = object()

    class FakeVideoColorizer:
        def __init__(self, given):
            assert given is colorizer
            self.colorizer = given

        def run(self, *args, **kwargs):
            seen.append(kwargs.get("vividness"))

    monkeypatch.setattr("exemplar.video.video_colorizer.VideoColorizer", FakeVideoColorizer)
    monkeypatch.setattr("exemplar.video.video_colorizer.open_frames", lambda path: path)  # no film on disk

    class Workspace:
        def job_folder(self, job_id):
            return tmp_path

    engine = engine_module.Engine(Workspace(), method="match")
    engine.colorizer = colorizer
    target = type("Upload", (), {"path": "film.mp4", "name": "film.mp4",
                                 "info": {"width": 8, "height": 8, "frames": 2}})()
    engine._run_video(Job(name="film", spec={"vividness": 0.3}), target, [], {})
    assert seen == [0.3]
