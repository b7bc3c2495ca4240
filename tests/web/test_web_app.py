"""The demo's handlers and its API: inputs, upload checks, streaming, Stop, per-visitor runs."""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path

import gradio as gr
import pytest
from PIL import Image

from gramscope.errors import InputImageError
from gramscope.image import read_metadata
from gramscope.options import StyleOptions
from gramscope.web.app import (
    UPLOAD,
    RunControls,
    balance_label,
    build_app,
    build_options,
    load_upload,
)

TINY = StyleOptions(size=48, scales=1, steps=4)

# ---- controls and defaults ---------------------------------------------------------------


def _component(demo: gr.Blocks, elem_id: str):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def test_controls_start_at_the_style_options_defaults():
    demo = build_app()
    defaults = StyleOptions()
    assert _component(demo, "size").value == defaults.size
    assert _component(demo, "steps").value == defaults.steps
    assert _component(demo, "coarse-steps").value == defaults.coarse_steps
    assert _component(demo, "scales").value == str(defaults.scales)
    strength = _component(demo, "strength")
    assert strength.value == defaults.strength
    # Stepped so that the default look is a position of its own, with room on both sides.
    assert strength.minimum < 1 < strength.maximum
    assert ((1 - strength.minimum) / strength.step).is_integer()
    assert "larger paints more" in strength.label
    assert _component(demo, "balance").value == balance_label(defaults)
    weights = [b.value for b in demo.blocks.values()
               if isinstance(b, gr.Slider) and str(b.label).startswith("w ")]
    assert weights == list(defaults.layer_weights.values())


def test_controls_follow_other_starting_options():
    start = StyleOptions(size=2048, steps=3000, alpha=1e-3, beta=1.0, strength=12)
    demo = build_app(start)
    size, steps = _component(demo, "size"), _component(demo, "steps")
    assert (size.value, steps.value) == (2048, 3000)
    assert size.maximum >= 2048 and steps.maximum >= 3000  # a slider must hold its value
    strength = _component(demo, "strength")
    assert strength.value == 12 and strength.maximum >= 12
    assert "α/β = 8.3e-05" in _component(demo, "balance").value  # 1e-3 / 12 / 1


def test_build_options_maps_the_controls():
    base = StyleOptions(alpha=2e-4, beta=50.0, pooling="avg")
    options = build_options(base, 128.0, 2.0, 7.0, 3.0, 2.0, ["conv3_2"], "adam", 4.0,
                            "luminance", [0.5, 0, 0, 0, 0.25])
    # The slider is the strength: α and β stay the starting ones, the weight used halves.
    assert options.strength == 2.0 and (options.alpha, options.beta) == (2e-4, 50.0)
    assert options.content_weight == pytest.approx(1e-4)
    assert options.scale_sizes == (64, 128) and options.steps_per_scale == (3, 7)
    assert options.content_layers == ("conv3_2",)
    assert options.layer_weights["conv1_1"] == 0.5 and options.layer_weights["conv5_1"] == 0.25
    assert (options.optimizer, options.seed, options.color) == ("adam", 4, "luminance")
    assert options.pooling == "avg"  # settings without a control keep the starting value


def test_the_api_names_the_strength_and_starts_it_at_the_default():
    info = build_app(TINY).get_api_info()["named_endpoints"]
    for endpoint in ("/stylize", "/pulls"):
        (strength,) = [p for p in info[endpoint]["parameters"]
                       if p["parameter_name"] == "strength"]
        assert strength["parameter_default"] == TINY.strength == 1.0
        assert strength["label"].startswith("style strength")


def test_every_api_input_has_a_name():
    """Each input of each endpoint is named after what it is; Gradio writes param_N for
    one it cannot name (a handler's *args), and the layer weights were such."""
    import re

    info = build_app(TINY).get_api_info()["named_endpoints"]
    unnamed = {f"{endpoint}: {p['parameter_name']} ({p['label']})"
               for endpoint, described in info.items() for p in described["parameters"]
               if re.fullmatch(r"param_\d+", p["parameter_name"])}
    assert not unnamed, sorted(unnamed)
    stylize = [p["parameter_name"] for p in info["/stylize"]["parameters"]]
    # The positional order API callers rely on: image_every, then w_l in the layers' order.
    weights = stylize.index("image_every") + 1
    assert stylize[weights:weights + 5] == [
        "w_conv1_1", "w_conv2_1", "w_conv3_1", "w_conv4_1", "w_conv5_1"]
    assert stylize[weights + 5] == "regions"  # then the rest of the panel


def test_the_server_does_not_poll_beside_a_run():
    """Gradio's queue wakes every 1 ms by default; the demo slows it (a silent no-op if a
    Gradio release renames what it sets, which this test would then say)."""
    from gramscope.web.app import QUEUE_POLL_S

    queue = build_app(TINY)._queue
    assert queue.sleep_when_free == queue.progress_update_sleep_when_free == QUEUE_POLL_S


@pytest.mark.slow
def test_the_loss_chart_takes_a_small_share_of_the_run(monkeypatch):
    """A chart that takes 0.5 s to draw is drawn again only 0.5 / CHART_SHARE s later,
    however often pictures stream: here once while the run streams, once at its end."""
    import gramscope.web.app as app

    drawn = []

    def slow_chart(history):
        drawn.append(len(history))
        time.sleep(0.5)
        return None

    monkeypatch.setattr(app, "loss_chart", slow_chart)
    monkeypatch.setattr(app, "CHART_EVERY_S", 0.0)
    demo = build_app(TINY).demo_state
    outputs = list(demo.stylize(None, "tubingen", None, "starry_night", None, 48, 1, 6, 0,
                                1, ["conv4_2"], "lbfgs", 0, "none", 1, *(0.2,) * 5))
    assert sum(o[0] is not None for o in outputs) == 7  # every step's picture, and the last
    assert drawn == [1, 6]


def test_run_controls_are_per_session():
    controls = RunControls()
    mine, theirs = controls.start("a"), controls.start("b")
    assert controls.stop("a") and mine() and not theirs()
    controls.finish("a")
    assert not controls.stop("a")  # finished: nothing to stop
    controls.stop_all()
    assert theirs()


# ---- uploads -----------------------------------------------------------------------------


def test_non_image_upload_is_refused_with_its_own_name(tmp_path: Path):
    upload = tmp_path / "deep" / "notes.png"
    upload.parent.mkdir()
    upload.write_bytes(b"these are words, not pixels\n" * 20)
    with pytest.raises(InputImageError, match="notes.png") as caught:
        load_upload(upload)
    assert str(upload.parent) not in str(caught.value)


def test_too_many_pixels_are_refused_before_decoding(tmp_path: Path):
    upload = tmp_path / "big.png"
    Image.new("RGB", (200, 100), "red").save(upload)
    with pytest.raises(InputImageError, match=r"big.png claims 200x100 pixels, more than the "
                       r"0.01 MP allowed"):
        load_upload(upload, max_pixels=10_000)
    assert load_upload(upload, max_pixels=20_000).size == (200, 100)


def test_a_bad_upload_warns_in_the_preview_and_fails_a_run_with_a_message(tmp_path: Path):
    upload = tmp_path / "song.mp3"
    upload.write_bytes(b"ID3\x03\x00" + bytes(300))
    demo = build_app(TINY).demo_state
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown, choice, kept = demo.preview("tubingen", str(upload))
    assert (shown, choice, kept) == (None, UPLOAD, None)  # switched to the upload, cleared it
    assert any("song.mp3" in str(w.message) for w in caught)
    run = demo.stylize(None, UPLOAD, str(upload), "starry_night", None, 48, 1, 2, 0, 1,
                       ["conv4_2"], "lbfgs", 0, "none", 1, 0.2, 0.2, 0.2, 0.2, 0.2)
    with pytest.raises(gr.Error, match="song.mp3"):
        next(run)


# ---- regions -----------------------------------------------------------------------------

WEIGHTS = (0.2,) * 5
#: Each brush colour's painting, as the regions panel sends them.
PAINTINGS = {"painting_1": "starry_night", "upload_1": None, "painting_2": "woman_with_hat",
             "upload_2": None}


def _regions_run(demo, editor, mask=None, steps: int = 2) -> list[tuple]:
    """Every yield of a tiny run at 48 px with the regions panel's values."""
    return list(demo.stylize(None, "tubingen", None, "starry_night", None, 48, 1, steps, 0,
                             1, ["conv4_2"], "lbfgs", 0, "none", 1, *WEIGHTS,
                             regions=editor, mask=mask, **PAINTINGS))


def _editor(painted: bool) -> dict:
    """The editor's value as Gradio hands it over: the photo, one RGBA layer, the composite."""
    background = Image.new("RGB", (64, 48), "grey")  # the photo's shape (tubingen, 4:3)
    layer = Image.new("RGBA", background.size, (0, 0, 0, 0))
    if painted:
        layer.paste((0xE6, 0x19, 0x4B, 255), (0, 0, 32, 48))  # red, the left half
        layer.paste((0x43, 0x63, 0xD8, 255), (32, 0, 64, 48))  # blue, the right half
    composite = Image.alpha_composite(background.convert("RGBA"), layer)
    return {"background": background, "layers": [layer], "composite": composite}


@pytest.mark.slow
def test_painted_regions_run_one_painting_each_and_keep_the_masks():
    demo = build_app(TINY).demo_state
    frames = _regions_run(demo, _editor(painted=True))
    assert "painted red #e6194b → sample:starry_night, painted blue #4363d8 → " \
        "sample:woman_with_hat" in frames[0][2]
    picture, _, status, download = frames[-1]
    assert status.startswith("done") and "step 2/2" in status
    metadata = read_metadata(download)
    assert metadata["styles"] == ["sample:starry_night", "sample:woman_with_hat"]
    assert [m["mask"] for m in metadata["masks"]] == ["painted red #e6194b",
                                                      "painted blue #4363d8"]
    assert picture.size == Image.open(download).size


@pytest.mark.slow
def test_an_unpainted_editor_runs_the_one_painting_everywhere():
    demo = build_app(TINY).demo_state
    frames = _regions_run(demo, _editor(painted=False))
    assert frames[0][2].startswith("starting: strength 1 (α/β = ") and "→" not in frames[0][2]
    metadata = read_metadata(frames[-1][3])
    assert metadata["styles"] == ["sample:starry_night"] and "masks" not in metadata


def test_a_bad_mask_is_its_one_line_message(tmp_path: Path):
    demo = build_app(TINY).demo_state
    black = tmp_path / "black.png"
    Image.new("L", (64, 48), 0).save(black)
    run = demo.stylize(None, "tubingen", None, "starry_night", None, 48, 1, 2, 0, 1,
                       ["conv4_2"], "lbfgs", 0, "none", 1, *WEIGHTS, regions=_editor(True),
                       mask=str(black), **PAINTINGS)
    message = "mask upload:black.png is all black: it puts its style nowhere"
    assert next(run)[2] == f"error: {message}"  # the status says it
    with pytest.raises(gr.Error, match=message):
        next(run)
    narrow = tmp_path / "narrow.png"
    Image.new("L", (24, 48), 255).save(narrow)
    with pytest.raises(gr.Error, match=r"far from the photo's shape"):
        _regions_run(demo, _editor(True), str(narrow))


def test_a_new_photo_clears_the_strokes():
    from gramscope.web.app import MAX_SIZE, photo_canvas

    big = Image.new("RGB", (4000, 3000))
    assert photo_canvas(big).size == (MAX_SIZE, 768)
    small = Image.new("RGB", (64, 48))
    assert photo_canvas(small) is small and photo_canvas(None) is None


# ---- through the API, as a client sees it ------------------------------------------------

def _arguments(served, steps: int) -> tuple:
    """The /stylize inputs in order: samples, then size … image_every, then each w_l."""
    return ("tubingen", None, "starry_night", None, served.options.size, "1", steps, 0, 2.0,
            ["conv4_2"], "lbfgs", 0, "none", served.image_every,
            *served.options.layer_weights.values())


def _wait_for_images(job, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while sum(o[0] is not None for o in job.outputs()) < count:
        assert not job.done(), "the run ended before it streamed the pictures"
        assert time.monotonic() < deadline, "no pictures streamed"
        time.sleep(0.05)


def test_api_streams_pictures_and_delivers_the_png(served):
    from gradio_client import Client

    steps = 6
    client = Client(served.url, verbose=False)
    job = client.submit(*_arguments(served, steps), api_name="/stylize")
    picture, chart, status, download = job.result(timeout=180)
    outputs = job.outputs()
    streamed = [o for o in outputs[:-1] if o[0] is not None]
    assert len(streamed) >= steps // served.image_every - 1 >= 2  # intermediate pictures arrived
    assert len({o[0] for o in streamed}) == len(streamed)  # each a new picture
    assert chart["type"] == "matplotlib" and chart["plot"].startswith("data:image/png")
    assert status.startswith("done") and f"step {steps}/{steps}" in status
    with Image.open(download) as im:
        assert im.format == "PNG" and max(im.size) == served.options.size
    metadata = read_metadata(download)
    assert metadata["options"]["steps"] == steps
    assert metadata["options"]["strength"] == 2.0  # the slider, as the API sent it
    assert metadata["options"]["alpha"] == StyleOptions().alpha
    assert metadata["content"] == "sample:tubingen" and metadata["interrupted"] is False


def test_api_takes_the_layer_weights_by_name(served):
    from gradio_client import Client

    client = Client(served.url, verbose=False)
    names = [f"w_{layer}" for layer in served.options.layer_weights]
    # All of the style on conv1_1; every other input at its default (the uploads have none).
    weights = dict.fromkeys(names, 0.0) | {"w_conv1_1": 1.0}
    *_, status, download = client.predict(content_upload=None, style_upload=None, steps=2,
                                          **weights, api_name="/stylize")
    assert status.startswith("done")
    options = read_metadata(download)["options"]
    assert options["style_layer_weights"] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert options["steps"] == 2


def test_stop_keeps_the_latest_picture_and_touches_only_its_own_run(served):
    from gradio_client import Client

    visitor, other = Client(served.url, verbose=False), Client(served.url, verbose=False)
    job = visitor.submit(*_arguments(served, served.options.steps), api_name="/stylize")
    _wait_for_images(job, 2)
    # Another visitor's Stop must not end this run.
    assert other.predict(api_name="/stop") == "nothing is running"
    time.sleep(0.3)
    assert not job.done()
    assert visitor.predict(api_name="/stop").startswith("stopping")
    picture, _, status, download = job.result(timeout=60)
    assert status.startswith("stopped")
    metadata = read_metadata(download)
    assert metadata["interrupted"] is True
    assert 0 < metadata["steps_done"] < served.options.steps
    with Image.open(picture) as shown, Image.open(download) as saved:
        assert shown.size == saved.size  # the picture kept is the one offered for download


def test_runs_queue_one_at_a_time(served):
    """Two visitors: the second waits while the first computes (one run at a time)."""
    from gradio_client import Client

    first, second = Client(served.url, verbose=False), Client(served.url, verbose=False)
    job1 = first.submit(*_arguments(served, served.options.steps), api_name="/stylize")
    _wait_for_images(job1, 1)
    job2 = second.submit(*_arguments(served, 4), api_name="/stylize")
    queued = threading.Event()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not queued.is_set():
        status = job2.status()
        if status.code.name == "IN_QUEUE" and status.rank is not None:
            queued.set()
        time.sleep(0.05)
    assert queued.is_set(), "the second visitor was not told a place in the queue"
    assert not job2.outputs() or all(o[0] is None for o in job2.outputs())
    first.predict(api_name="/stop")
    job1.result(timeout=60)
    assert job2.result(timeout=120)[2].startswith("done")


# ---- explain tabs ------------------------------------------------------------------------

@pytest.mark.slow
def test_explain_tabs_draw_from_the_chosen_images(tiny_content):
    from matplotlib.figure import Figure

    demo = build_app(TINY).demo_state
    grid = demo.feature_maps("painting", "conv2_1", 4, "channel", "tubingen", None,
                             "starry_night", None, None, 48)
    assert isinstance(grid, Figure)
    assert "conv2_1: 4 strongest of 128" in grid.texts[0].get_text()
    with pytest.raises(gr.Error, match="no result yet"):
        demo.grams("conv1_1", "starry_night", None, None, 48)
    grams = demo.grams("conv1_1", "starry_night", None, tiny_content, 48)
    assert "conv1_1" in grams.texts[0].get_text() and "E_l" in grams.texts[0].get_text()


@pytest.mark.slow
def test_pulls_tab_maps_the_chosen_images_at_the_stylize_strength():
    from matplotlib.figure import Figure

    demo = build_app(TINY).demo_state
    figure = demo.pulls(32, 2, "content", 2.0, "tubingen", None, "starry_night", None)
    assert isinstance(figure, Figure)
    assert figure.texts[0].get_text().startswith("Where each term pulls")
    labels = [ax.get_ylabel() for ax in figure.axes]
    assert "step 0 (start)" in labels and "step 2 (end)" in labels
    assert "Σ|∇| = 0.00e+00" in [ax.get_xlabel() for ax in figure.axes]  # content at rest
    with pytest.raises(gr.Error, match="steps must be a whole number"):
        demo.pulls(32, -1, "content", 2.0, "tubingen", None, "starry_night", None)


@pytest.mark.slow
def test_reconstruction_streams_from_noise_and_stops(tiny_content):
    demo = build_app(TINY).demo_state
    frames = demo.reconstruct(None, "style", "conv2_1", "tubingen", None, "starry_night", None,
                              32, 50, 1)
    first, status = next(frames)
    assert status.startswith("matching the painting's Gram matrices on conv1_1, conv2_1")
    second, status = next(frames)
    assert first.size == second.size and max(first.size) == 32
    assert first.tobytes() != second.tobytes()  # it is optimising
    assert status.endswith("step 2/50")
    assert demo.controls.stop("local")  # a session without a request is "local"
    rest = list(frames)
    assert len(rest) == 1 and rest[0][1].endswith("step 3/50")  # one more step, then its picture


@pytest.mark.slow
def test_content_reconstruction_starts_from_the_figures_smooth_prior():
    """The tab's content reconstruction is Figure 1's: smoothed noise and a TV term, so
    its first picture is far smoother than white noise (mean |Laplacian| well under 50
    levels, which white noise of spread 50 would far exceed)."""
    import numpy as np

    demo = build_app(TINY).demo_state
    frames = demo.reconstruct(None, "content", "conv4_2", "tubingen", None, "starry_night",
                              None, 48, 2, 1)
    first, status = next(frames)
    assert status.startswith("matching the photo's conv4_2 features")
    grey = np.asarray(first.convert("L"), dtype=np.float64)
    laplacian = (4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2]
                 - grey[1:-1, 2:])
    assert np.abs(laplacian).mean() < 20, np.abs(laplacian).mean()
    list(frames)


@pytest.mark.slow
def test_layer_painting_streams_one_layer_and_its_error():
    demo = build_app(TINY).demo_state
    frames = demo.paint_layer(None, "transfer", "relu2_1", "tubingen", None, "starry_night",
                              None, 32, 3, 1)
    pictures = list(frames)
    assert len(pictures) == 3 and max(pictures[0][0].size) == 32
    assert pictures[-1][1].startswith("photo → painting, conv2_1 alone · step 3/3 · E = ")
    texture, status = next(demo.paint_layer(None, "texture", "conv1_1", "tubingen", None,
                                            "starry_night", None, 32, 2, 1))
    assert status.startswith("texture from noise, conv1_1 alone · step 1/2")


# ---- the command -------------------------------------------------------------------------

def test_demo_command_checks_its_limits(capsys):
    from gramscope.cli import main

    assert main(["demo", "--max-runs", "0"]) == 2
    assert "--max-runs must be 1 or more" in capsys.readouterr().err


def test_a_taken_port_is_a_one_line_error():
    import socket

    from gramscope.errors import GramscopeError
    from gramscope.web.app import launch

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(GramscopeError, match=f"127.0.0.1:{port}.*--port"):
            launch(build_app(TINY), "127.0.0.1", port)
