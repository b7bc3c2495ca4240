"""The live demo: pick a photo and a painting, move the paper's knobs, watch the picture form.

Every run is the library's stream (:func:`gramscope.api.stream`, the path under
``gramscope stylize``): the handler forwards each record that carries an image, with the
loss chart so far, and the Stop button makes the stream's ``stop()`` return true so its
last record still carries the picture. The controls take their starting values from a
:class:`~gramscope.options.StyleOptions` (the paper's defaults unless
``gramscope demo --size …`` says otherwise).

Nothing leaves the machine: analytics are off before Gradio is imported, the theme uses
system fonts, and no share link is made.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import re
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

# Must be set before gradio is imported: it decides at import time whether to phone home.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio as gr  # noqa: E402
from PIL import Image  # noqa: E402

from ..api import Run, stream  # noqa: E402
from ..errors import GramscopeError, InputImageError  # noqa: E402
from ..image import MIN_SIDE, load_image, resize_long_side, save_image, to_pil  # noqa: E402
from ..masks import Masks, prepare_masks  # noqa: E402
from ..options import MIN_SCALE, NAMED_INITS, StyleOptions, describe_balance  # noqa: E402
from ..samples import DEFAULT_CONTENT, DEFAULT_STYLE, SAMPLES, sample_path  # noqa: E402
from ..transfer import StepRecord  # noqa: E402
from ..vgg import LAYERS, canonical_layer  # noqa: E402
from ..weights import CONV_LAYERS  # noqa: E402
from .regions import REGION_COLOURS, Regions, painted_regions, uploaded_regions  # noqa: E402

# ---- limits of a shared demo (not style defaults: those live in StyleOptions) ----------

#: Picture refresh every k steps: often enough to watch it form, rarely enough that the
#: PNG encoding (≤ 35 ms at 128 px, measured on a busy two-core machine) and its transfer
#: stay small next to the k steps (≈ 0.18 s each at 128 px).
IMAGE_EVERY = 5
#: The loss chart is redrawn at most this often (seconds): drawing it took 0.65 s on a busy
#: two-core machine, several small steps' worth, and it shares the cores with the run.
#: The final chart is always drawn.
CHART_EVERY_S = 2.0
#: ... and at most this share of the run's time goes to drawing it: the run waits while
#: the chart is drawn on one core (≈ 0.3 s, then Gradio encodes it beside the run), 4 % of
#: a 256-px run when every picture had one (py-spy, issue 22, item 5). A 512-px run's
#: picture comes every ≈ 10 s here, its chart now every ≈ 15 s: the chart follows every
#: second or third picture, the status line under it every picture.
CHART_SHARE = 0.02
#: Long-side ceiling in the demo: one L-BFGS step at 1024 px takes ≈ 13 s on two cores.
MAX_SIZE = 1024
MAX_STEPS = 1000
MAX_SCALES = 6  # 2048 px halved down to MIN_SCALE (64); a larger count stops there too
#: The style-strength slider: a quarter to eight times the default's style relative to
#: content, in quarter steps so that 1 (the default look) is a position of its own.
STRENGTH_RANGE = (0.25, 8.0)
STRENGTH_STEP = 0.25
#: Uploads above this are refused before decoding; 16 MP covers phone photos and a decoded
#: one costs ≈ 50 MB, so a few visitors at once cannot exhaust memory.
MAX_UPLOAD_PIXELS = 16_000_000
MAX_UPLOAD_MB = 20
#: Waiting runs beyond the running ones; further visitors are told the queue is full.
QUEUE_SIZE = 16
#: Two cores: one run at a time keeps each run at full speed instead of two at half.
MAX_RUNS = 1
#: How often Gradio's queue looks for a run to start and for progress to send (seconds).
#: Its own 1 ms and 10 ms wake the server 1100 times a second, idle or not: 6–7 % of a
#: core here, and each wake-up takes a core from one of the run's two torch threads,
#: which then waits for it (issue 22, item 5). A run now starts up to 20 ms later.
QUEUE_POLL_S = 0.02

_FIELDS = {f.name: f for f in dataclasses.fields(StyleOptions)}
UPLOAD = "(my upload)"
#: The painting each brush colour starts with (REGION_COLOURS, in order); Demo.stylize
#: takes one painting_N, upload_N pair per colour.
REGION_STYLES = ("starry_night", "woman_with_hat")


def explain(module: str = "") -> Any:
    """``gramscope.explain`` (or one of its modules), imported on first use: the pictures of
    the Explain tabs and the loss chart come from there, with matplotlib behind them."""
    name = "gramscope.explain" + (f".{module}" if module else "")
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise GramscopeError(
            f"the explain views are not available here ({exc}); "
            "pip install 'gramscope[explain]'"
        ) from None


def loss_chart(history: Sequence[StepRecord]) -> Any:
    """α·L_content and each β·w_l·E_l so far (explain's loss anatomy), or None without it."""
    try:
        return explain().loss_anatomy(history).figure()
    except GramscopeError:
        return None  # the picture still streams; only the chart is missing


def _help(name: str) -> str:
    return _FIELDS[name].metadata["help"]


def _choices(name: str) -> list[str]:
    return list(_FIELDS[name].metadata["choices"])


# ---- inputs -----------------------------------------------------------------------------

def load_upload(path: str | os.PathLike[str], max_pixels: int = MAX_UPLOAD_PIXELS) -> Image.Image:
    """An uploaded file as RGB, or :class:`InputImageError` naming the file, not its temp path.

    The pixel count is read from the header before anything is decoded.
    """
    path = Path(path)
    try:
        return load_image(path, max_pixels=max_pixels)
    except InputImageError as exc:
        # Gradio's upload folder is noise to a visitor; name their file as they know it.
        raise InputImageError(str(exc).replace(str(path), path.name)) from None


def build_options(
    base: StyleOptions, size: float, scales: str | float, steps: float, coarse_steps: float,
    strength: float, content_layers: Sequence[str], optimizer: str, seed: float, color: str,
    layer_weights: Sequence[float],
) -> StyleOptions:
    """The controls' values on top of ``base``; α and β stay, the slider sets ``strength``
    (as --strength)."""
    return base.replace(
        size=int(size), scales=scale_choice(scales), steps=int(steps),
        coarse_steps=int(coarse_steps), strength=float(strength),
        content_layers=tuple(content_layers or ()),
        style_layer_weights=tuple(float(w) for w in layer_weights), optimizer=optimizer,
        seed=int(seed), color=color,
    )


def weight_name(layer: str) -> str:
    """The API's name for w_l of ``layer`` (its slider): ``w_conv1_1``."""
    return "w_" + re.sub(r"\W", "_", canonical_layer(layer))


def balance_label(options: StyleOptions) -> str:
    """The strength and, for experts, the weights it makes."""
    return (f"{describe_balance(options)}; used: α/strength = {options.content_weight:.3g}, "
            f"β = {options.beta:.3g}")


# ---- per-visitor runs -------------------------------------------------------------------

class RunControls:
    """One stop flag per visitor session: Stop and closing the tab end only that run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping: dict[str, bool] = {}

    def start(self, session: str) -> Callable[[], bool]:
        with self._lock:
            self._stopping[session] = False
        return lambda: self._stopping.get(session, True)

    def stop(self, session: str) -> bool:
        """Ask the session's run to end after its current step; true if one was running."""
        with self._lock:
            running = session in self._stopping
            if running:
                self._stopping[session] = True
            return running

    def finish(self, session: str) -> None:
        with self._lock:
            self._stopping.pop(session, None)

    def stop_all(self) -> None:
        """The server is closing: let every run end at its next step, not mid-computation."""
        with self._lock:
            for session in self._stopping:
                self._stopping[session] = True


def _session(request: gr.Request | None) -> str:
    hashed = getattr(request, "session_hash", None) or "local"
    return re.sub(r"[^A-Za-z0-9_-]", "_", hashed)


def where(style_names: Sequence[str], masks: Masks | None) -> str:
    """Which painting goes to which region, for the status line ("" without regions)."""
    if masks is None:
        return ""
    return " · " + ", ".join(f"{described['mask']} → {name}"
                             for described, name in zip(masks.described, style_names,
                                                        strict=True))


def photo_canvas(photo: Image.Image | None) -> Image.Image | None:
    """The regions editor's background for a newly chosen photo, with no strokes (strokes
    made on another photo would land in the wrong places); at most MAX_SIZE px, since the
    masks are scaled to the photo anyway."""
    if photo is None or max(photo.size) <= MAX_SIZE:
        return photo
    return resize_long_side(photo, MAX_SIZE)


def describe(record: StepRecord, options: StyleOptions) -> str:
    total = sum(options.steps_per_scale)
    scales = len(options.scale_sizes)
    return (
        f"step {record.step}/{total} · scale {record.scale + 1}/{scales} "
        f"({record.size[0]}×{record.size[1]} px) · {record.seconds:.1f} s · "
        f"α·L_content {record.content:.3g} · β·L_style {record.style_total:.3g} · "
        f"total {record.total:.3g}"
    )


def _updates(run: Run, options: StyleOptions) -> Iterator[tuple[Any, Any, str, Any]]:
    """(picture, chart or skip, status, None) for each record of ``run`` with a picture; the
    chart is drawn at most every CHART_EVERY_S and at most CHART_SHARE of the time."""
    next_chart = -math.inf  # when the loss chart may be drawn again
    for record in run:
        if record.image is not None:
            chart: Any = gr.skip()
            began = time.perf_counter()
            if began >= next_chart:
                chart, drawn = loss_chart(run.history), time.perf_counter()
                next_chart = drawn + max(CHART_EVERY_S, (drawn - began) / CHART_SHARE)
            yield to_pil(record.image), chart, describe(record, options), None


class Demo:
    """The app's handlers and the state they share (stop flags, result folder)."""

    def __init__(self, defaults: StyleOptions, max_upload_pixels: int = MAX_UPLOAD_PIXELS):
        self.defaults = defaults
        self.max_upload_pixels = max_upload_pixels
        self.controls = RunControls()
        # Results are written here for download; one file per session, replaced by the next run.
        self._results = tempfile.TemporaryDirectory(prefix="gramscope-demo-")

    def result_path(self, session: str, content: str, style: str, seed: int) -> Path:
        folder = Path(self._results.name) / session
        folder.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", f"{content}_{style}".replace("sample:", ""))
        for old in folder.glob("*.png"):
            old.unlink()
        return folder / f"gramscope_{stem}_seed{seed}.png"

    # -- stylize ---------------------------------------------------------------------------
    def stylize(
        self, request: gr.Request | None, content_sample: str, content_upload: str | None,
        style_sample: str, style_upload: str | None, size: float, scales: float, steps: float,
        coarse_steps: float, strength: float, content_layers: list[str], optimizer: str,
        seed: float, color: str, image_every: float, *layer_weights: float,
        regions: dict[str, Any] | None = None, mask: str | None = None,
        painting_1: str | None = None, upload_1: str | None = None,
        painting_2: str | None = None, upload_2: str | None = None,
        **named_weights: float,
    ) -> Iterator[tuple[Any, Any, str, Any]]:
        """Yields (picture, loss chart, status, download) every ``image_every`` steps.

        Each style layer's w_l comes after ``image_every``, in the layers' order: by
        position, or by :func:`weight_name` (``w_conv1_1=…``, as the API passes them, so
        that they have names there). The other keywords are the regions panel, optional so
        that API callers without it run as before: the brush editor's value, an uploaded
        mask, and the painting of each brush colour (choice, upload; one pair per
        REGION_COLOURS entry, None = its starting sample). Painted regions put each
        colour's painting only there; with none, the chosen painting goes everywhere.
        """
        layer_weights = self._layer_weights(layer_weights, named_weights)
        content, content_name = self.pick_image(content_sample, content_upload, "photo")
        try:
            options = build_options(self.defaults, size, scales, steps, coarse_steps, strength,
                                    content_layers, optimizer, seed, color, layer_weights)
        except GramscopeError as exc:
            raise gr.Error(str(exc)) from None
        try:
            found = self.regions(regions, mask)
            styles, style_names, masks = self.paintings(
                content, (style_sample, style_upload), found,
                ((painting_1, upload_1), (painting_2, upload_2)))
        except GramscopeError as exc:  # a mask the engine refuses: its one-line message
            yield None, None, f"error: {exc}", None
            raise gr.Error(str(exc)) from None
        session = _session(request)
        yield None, None, f"starting: {balance_label(options)}{where(style_names, masks)}", None
        try:
            # Keep the losses, not every intermediate picture (3 MB each at 512 px).
            run = stream(content, styles, options=options, stop=self.controls.start(session),
                         masks=masks, image_every=max(1, int(image_every)), keep_images=False)
            yield from _updates(run, options)
        except GramscopeError as exc:
            raise gr.Error(str(exc)) from None
        except MemoryError:
            raise gr.Error("out of memory; try a smaller size") from None
        finally:
            self.controls.finish(session)
        if run.latest is None:
            return  # zero steps asked for and nothing to show
        yield self._finished(session, run, content_name, style_names)

    def _layer_weights(self, positional: tuple[float, ...],
                       named: dict[str, float]) -> tuple[float, ...]:
        """Each style layer's w_l, given by position or by :func:`weight_name`."""
        names = [weight_name(layer) for layer in self.defaults.layer_weights]
        unknown = sorted(set(named) - set(names))
        if unknown:
            raise TypeError(f"stylize() got unexpected keyword arguments {unknown}")
        return (*positional, *(named[n] for n in names if n in named))

    def _finished(self, session: str, run: Run, content_name: str,
                  style_names: list[str]) -> tuple[Any, Any, str, str]:
        """The last update of a run: its picture, saved with its metadata for download."""
        result = run.result()
        metadata = {**result.metadata, "content": content_name, "styles": style_names}
        path = self.result_path(session, content_name, "+".join(style_names),
                                run.options.seed)
        save_image(result.image, path, metadata)
        ending = "stopped" if result.stopped else "done"
        status = describe(result.history[-1], run.options) + where(style_names, run.masks)
        return result.image, loss_chart(result.history), f"{ending}: {status}", str(path)

    def paintings(
        self, content: Image.Image, style: tuple[str, str | None], found: Regions | None,
        pickers: Sequence[tuple[str | None, str | None]],
    ) -> tuple[list[Image.Image], list[str], Masks | None]:
        """(paintings, their names, their masks): the painting of each region ``found``
        (from its colour's (choice, upload) in ``pickers``), else the chosen ``style``
        everywhere and no masks."""
        if found is None:
            image, name = self.pick_image(*style, "painting")
            return [image], [name], None
        picked = [self.pick_image(pickers[k][0] or REGION_STYLES[k], pickers[k][1],
                                  f"painting for {REGION_COLOURS[k][0]}")
                  for k in found.colours]
        styles, names = [image for image, _ in picked], [name for _, name in picked]
        return styles, names, prepare_masks(found.masks, len(styles), content.size,
                                            found.names)

    def regions(self, editor: dict[str, Any] | None, mask: str | None) -> Regions | None:
        """The uploaded mask (it replaces the strokes), else the painted strokes; None when
        nothing is painted."""
        if mask:
            return uploaded_regions(load_upload(mask, self.max_upload_pixels),
                                    f"upload:{Path(mask).name}")
        return painted_regions((editor or {}).get("layers") or [])

    def stop(self, request: gr.Request | None) -> str:
        if self.controls.stop(_session(request)):
            return "stopping after this step; the latest picture is kept"
        return "nothing is running"

    def forget(self, request: gr.Request | None) -> None:
        """The tab closed: end its run rather than compute for nobody."""
        self.controls.stop(_session(request))

    def pick_image(self, sample: str, upload: str | None, what: str) -> tuple[Image.Image, str]:
        """(image, description for the metadata): the upload when chosen, else the sample."""
        if sample == UPLOAD:
            if not upload:
                raise gr.Error(f"choose a {what} sample or upload one first")
            try:
                return load_upload(upload, self.max_upload_pixels), f"upload:{Path(upload).name}"
            except InputImageError as exc:
                raise gr.Error(str(exc)) from None
        return load_image(sample_path(sample)), f"sample:{sample}"

    def preview(self, sample: str, upload: str | None) -> tuple[Any, Any, Any]:
        """(preview, choice, upload) after a pick or an upload; a bad upload warns and is
        cleared instead of failing the page."""
        if upload and sample != UPLOAD:
            sample = UPLOAD  # uploading means "use it"
        if sample == UPLOAD:
            if not upload:
                return None, sample, gr.skip()
            try:
                return load_upload(upload, self.max_upload_pixels), sample, gr.skip()
            except InputImageError as exc:
                gr.Warning(str(exc))
                return None, sample, None
        return load_image(sample_path(sample)), sample, gr.skip()

    # -- explain ---------------------------------------------------------------------------
    def _source(
        self, which: str, content: tuple[str, str | None], style: tuple[str, str | None],
        result: Image.Image | None,
    ) -> Image.Image:
        if which == "result":
            if result is None:
                raise gr.Error("no result yet: start a run on the Stylize tab first")
            return result
        sample, upload = content if which == "photo" else style
        return self.pick_image(sample, upload, which)[0]

    def feature_maps(
        self, which: str, layer: str, count: float, normalise: str, content_sample: str,
        content_upload: str | None, style_sample: str, style_upload: str | None,
        result: Image.Image | None, size: float,
    ) -> Any:
        image = self._source(which, (content_sample, content_upload),
                             (style_sample, style_upload), result)
        try:
            return explain().feature_grid(image, layer, count=int(count), normalize=normalise,
                                          size=int(size), options=self.defaults).figure()
        except GramscopeError as exc:
            raise gr.Error(str(exc)) from None

    def grams(
        self, layer: str, style_sample: str, style_upload: str | None,
        result: Image.Image | None, size: float,
    ) -> Any:
        result_image = self._source("result", ("", None), ("", None), result)
        style_image = self._source("painting", ("", None), (style_sample, style_upload), None)
        try:
            return explain().gram_views(style_image, result_image, layer, size=int(size),
                                        options=self.defaults).figure()
        except GramscopeError as exc:
            raise gr.Error(str(exc)) from None

    def pulls(
        self, size: float, steps: float, init: str, strength: float, content_sample: str,
        content_upload: str | None, style_sample: str, style_upload: str | None,
    ) -> Any:
        """Where each term pulls at the start, middle and end of a one-scale run of the
        chosen pictures at the Stylize tab's style strength (explain's pull maps)."""
        pulls = explain("pulls")
        content = self.pick_image(content_sample, content_upload, "photo")[0]
        style = self.pick_image(style_sample, style_upload, "painting")[0]
        try:
            options = self.defaults.replace(**{
                **pulls.PULLS_SETTINGS.style_fields(), "size": int(size), "steps": int(steps),
                "init": init,
                "strength": float(strength)})
            return pulls.pull_maps(content, style, options).figure()
        except GramscopeError as exc:
            raise gr.Error(str(exc)) from None

    def reconstruct(
        self, request: gr.Request | None, kind: str, layer: str, content_sample: str,
        content_upload: str | None, style_sample: str, style_upload: str | None, size: float,
        steps: float, image_every: float,
    ) -> Iterator[tuple[Any, str]]:
        """The paper's Fig. 1 from white noise, streamed from the engine: match only the
        photo's features at ``layer``, or only the painting's Grams on the style layers up to
        ``layer``."""
        figure1 = explain("figure1")
        # The figure's own settings (one scale, average pooling) at the chosen size and steps.
        base = self.defaults.replace(**{**figure1.FIGURE1_SETTINGS.style_fields(),
                                        "size": int(size), "steps": int(steps)})
        layer = canonical_layer(layer)
        if kind == "content":
            image = self.pick_image(content_sample, content_upload, "photo")[0]
            options = figure1.content_reconstruction_options(base, layer)
            what = f"the photo's {layer} features"
        else:
            image = self.pick_image(style_sample, style_upload, "painting")[0]
            depth = LAYERS.index(layer)
            layers = [name for name in map(canonical_layer, self.defaults.style_layers)
                      if LAYERS.index(name) <= depth] or [layer]
            options = figure1.style_synthesis_options(base, layers)
            what = f"the painting's Gram matrices on {', '.join(layers)}"
        with tempfile.TemporaryDirectory() as folder:
            if kind == "content":  # the figure's prior against pixel noise (not the paper's)
                canvas = resize_long_side(image, options.size).size
                options = figure1.with_prior(options, canvas, Path(folder))
            # The image is both inputs: only its shape matters for the unused side.
            for picture, record in self._stream(request, image, image, options, image_every):
                yield picture, (f"matching {what} from noise · step "
                                f"{record.step}/{options.steps}")

    def paint_layer(
        self, request: gr.Request | None, kind: str, layer: str, content_sample: str,
        content_upload: str | None, style_sample: str, style_upload: str | None, size: float,
        steps: float, image_every: float,
    ) -> Iterator[tuple[Any, str]]:
        """One panel of explain's "what each layer paints", streamed: the painting's texture
        from noise, or the photo stylised, with the whole style term on ``layer``."""
        layers = explain("layers")
        base = self.defaults.replace(**{**layers.LAYERS_SETTINGS.style_fields(),
                                        "size": int(size), "steps": int(steps)})
        layer = canonical_layer(layer)
        style = self.pick_image(style_sample, style_upload, "painting")[0]
        source = style if kind == "texture" else \
            self.pick_image(content_sample, content_upload, "photo")[0]
        options = layers.ROW_OPTIONS[kind](base, layer)
        for picture, record in self._stream(request, source, style, options, image_every):
            # w_l = 1, so the engine's w_l·E_l is E_l (at the image before this step).
            yield picture, (f"{layers.ROW_LABELS[kind]}, {layer} alone · step "
                            f"{record.step}/{options.steps} · E = {record.style[layer]:.3g}")

    def _stream(
        self, request: gr.Request | None, content: Image.Image, style: Image.Image,
        options: StyleOptions, image_every: float,
    ) -> Iterator[tuple[Image.Image, StepRecord]]:
        """(picture, record) every ``image_every`` steps of one run that Stop can end."""
        session = _session(request)
        try:
            run = stream(content, [style], options=options, stop=self.controls.start(session),
                         image_every=max(1, int(image_every)), keep_images=False)
            for record in run:
                if record.image is not None:
                    yield to_pil(record.image), record
        except GramscopeError as exc:
            raise gr.Error(str(exc)) from None
        finally:
            self.controls.finish(session)


# ---- layout -----------------------------------------------------------------------------

INTRO = """\
# gramscope: neural style transfer, live
The photo's **content** is matched in a deep layer of VGG-19 (its feature maps); the
painting's **style** is matched through the **Gram matrices** of several layers (which
features fire together, wherever they are). Gatys, Ecker & Bethge (2015).
Runs take turns on this machine: while you wait, your place in the queue shows over the
picture.
"""


def _image_picker(
    label: str, default: str, key: str | None = None, height: int = 220,
) -> tuple[gr.Radio, gr.File, gr.Image]:
    """A sample choice, an upload and a preview; their elem_ids start with ``key`` (by
    default the label's first word)."""
    what = label.split()[0]
    key = key or what
    with gr.Column():
        sample = gr.Radio([*SAMPLES, UPLOAD], value=default, label=label,
                          elem_id=f"{key}-sample")
        upload = gr.File(label=f"or upload a {what}", file_types=["image"],
                         type="filepath", height=120)
        shown = gr.Image(load_image(sample_path(default)), label=label, type="pil",
                         elem_id=f"{key}-preview",
                         interactive=False, height=height, format="jpeg")
    return sample, upload, shown


REGIONS_HELP = """\
Paint over the photo: each brush colour is a region, styled after that colour's painting
(guided Gram matrices, Gatys et al. 2017). Where nothing is painted the photo stays, held
by the content term alone; soft brush edges blend. Paint nothing and the painting chosen
above goes everywhere.
"""


def _regions_panel() -> types.SimpleNamespace:
    """The brush over the photo, one painting picker per colour, and a mask upload."""
    with gr.Accordion("Regions: paint where each painting goes (optional)", open=False,
                      elem_id="regions-panel"):
        gr.Markdown(REGIONS_HELP)
        with gr.Row():
            regions = gr.ImageEditor(
                photo_canvas(load_image(sample_path(DEFAULT_CONTENT))), type="pil",
                image_mode="RGBA", sources=(), transforms=(), layers=False,
                brush=gr.Brush(colors=[hex_ for _, hex_ in REGION_COLOURS],
                               color_mode="fixed"),
                label=f"paint over the photo ({', '.join(n for n, _ in REGION_COLOURS)})",
                elem_id="regions", height=420, scale=2)
            region_pickers = [
                _image_picker(f"painting for {name}", default, key=f"{name}-painting",
                              height=160)
                for (name, _), default in zip(REGION_COLOURS, REGION_STYLES, strict=True)]
        first = REGION_COLOURS[0][0]
        mask_upload = gr.File(
            label=f"or upload a mask instead: greyscale (white = the {first} painting) or "
            "painted in the brush colours", file_types=["image"], type="filepath",
            height=100, elem_id="mask-upload")
    # The run reads the uploads' paths from session state, which the API does not list:
    # a File input there would be a required argument, and API calls that predate the
    # panel would stop working.
    mask_file = gr.State(None)
    region_uploads = [gr.State(None) for _ in region_pickers]
    return types.SimpleNamespace(regions=regions, region_pickers=region_pickers,
                                 mask_upload=mask_upload, mask_file=mask_file,
                                 region_uploads=region_uploads)


def build_app(
    defaults: StyleOptions | None = None, *, max_runs: int = MAX_RUNS,
    queue_size: int = QUEUE_SIZE, max_size: int = MAX_SIZE,
    max_upload_pixels: int = MAX_UPLOAD_PIXELS, image_every: int = IMAGE_EVERY,
) -> gr.Blocks:
    """The Gradio app. Controls start at ``defaults`` (sliders widen to hold them); at most
    ``max_runs`` runs compute at once and ``queue_size`` more wait."""
    defaults = defaults or StyleOptions()
    demo_state = Demo(defaults, max_upload_pixels)

    # Old cached uploads and results are swept hourly: a long-running demo must not fill the disk.
    with gr.Blocks(title="gramscope demo", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Stylize"):
            stylize = _stylize_tab(defaults, max_size, image_every)
        try:
            tabs = _explain_tabs(defaults)
        except GramscopeError as exc:
            with gr.Tab("Explain"):
                gr.Markdown(str(exc))
            tabs = None
        _wire_stylize(demo, demo_state, stylize, max_runs)
        if tabs is not None:
            _wire_explain(demo_state, stylize, tabs, max_runs)

    demo.queue(default_concurrency_limit=1, max_size=queue_size)
    queue = getattr(demo, "_queue", None)  # not public: a Gradio without it polls as before
    for poll in ("sleep_when_free", "progress_update_sleep_when_free"):
        if hasattr(queue, poll):
            setattr(queue, poll, QUEUE_POLL_S)
    demo.demo_state = demo_state  # type: ignore[attr-defined]  # the handlers, for tests
    return demo


def _stylize_tab(
    defaults: StyleOptions, max_size: int, image_every: int
) -> types.SimpleNamespace:
    """The Stylize tab: the two pictures, the result with Start and Stop, then the controls."""
    with gr.Row():
        content_sample, content_upload, content_shown = _image_picker(
            "photo (content)", DEFAULT_CONTENT)
        style_sample, style_upload, style_shown = _image_picker(
            "painting (style)", DEFAULT_STYLE)
        with gr.Column(scale=2):
            result = gr.Image(label="result", type="pil", format="png",
                              interactive=False, elem_id="result", height=420)
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="start")
                stop = gr.Button("Stop", variant="stop", elem_id="stop")
            status = gr.Markdown("", elem_id="status")
            loss_plot = gr.Plot(label="loss terms", format="png", elem_id="loss-plot")
            download = gr.File(label="result PNG (its parameters inside)",
                               interactive=False, elem_id="download")
    panel = _regions_panel()
    with gr.Row():
        controls = _controls(defaults, max_size, image_every)
    return types.SimpleNamespace(
        content=(content_sample, content_upload, content_shown),
        style=(style_sample, style_upload, style_shown), result=result, start=start,
        stop=stop, status=status, loss_plot=loss_plot, download=download, **vars(panel),
        **vars(controls),
    )


def scale_choice(value: str | float) -> str | int:
    """The scales control's value as an option: 'auto' or a number of scales."""
    return "auto" if value == "auto" else int(value)


def _controls(defaults: StyleOptions, max_size: int, image_every: int) -> types.SimpleNamespace:
    """The run's settings, each starting at ``defaults`` with its help from StyleOptions."""
    scales = (defaults.scales if isinstance(defaults.scales, int | str)
              else len(defaults.scales))
    with gr.Column():
        size = gr.Slider(MIN_SIDE, max(max_size, defaults.size), value=defaults.size,
                         step=1, label="size (px, long side)", info=_help("size"),
                         elem_id="size")
        steps = gr.Slider(0, max(MAX_STEPS, defaults.steps), value=defaults.steps,
                          step=1, label="steps", info=_help("steps"), elem_id="steps")
        choices = ["auto", *map(str, range(1, MAX_SCALES + 1))]
        scale_count = gr.Dropdown(choices, value=str(scales), label="scales (coarse-to-fine)",
                                  info=f"{_help('scales')}; none below {MIN_SCALE} px",
                                  elem_id="scales")
        coarse_steps = gr.Slider(0, max(MAX_STEPS, defaults.coarse_steps),
                                 value=defaults.coarse_steps, step=1,
                                 label="steps at each coarser scale",
                                 info=_help("coarse_steps"), elem_id="coarse-steps")
        low, high = STRENGTH_RANGE
        strength = gr.Slider(min(low, defaults.strength), max(high, defaults.strength),
                             value=defaults.strength, step=STRENGTH_STEP,
                             label="style strength (larger paints more)",
                             info=_help("strength"), elem_id="strength")
        balance_text = gr.Markdown(balance_label(defaults), elem_id="balance")
    with gr.Column():
        gr.Markdown("**Style layer weights w_l** (the paper: equal, summing to 1)")
        weight_sliders = [
            gr.Slider(0, 1, value=w, step=0.01, label=f"w {layer}")
            for layer, w in defaults.layer_weights.items()
        ]
    with gr.Column():
        content_layers = gr.Dropdown(
            list(CONV_LAYERS), value=[canonical_layer(x) for x in defaults.content_layers],
            multiselect=True, label="content layer", info=_help("content_layers"))
        optimizer = gr.Radio(_choices("optimizer"), value=defaults.optimizer,
                             label="optimiser", info=_help("optimizer"))
        color = gr.Radio(_choices("color"), value=defaults.color,
                         label="colour", info=_help("color"))
        seed = gr.Number(defaults.seed, precision=0, label="seed", info=_help("seed"))
        image_every_k = gr.Slider(1, 50, value=image_every, step=1,
                                  label="show the picture every k steps")
    return types.SimpleNamespace(
        size=size, steps=steps, scale_count=scale_count, coarse_steps=coarse_steps,
        strength=strength, balance_text=balance_text, weight_sliders=weight_sliders,
        content_layers=content_layers, optimizer=optimizer, color=color, seed=seed,
        image_every_k=image_every_k,
    )


def _wire_stylize(
    demo: gr.Blocks, demo_state: Demo, tab: types.SimpleNamespace, max_runs: int
) -> None:
    """Previews, the strength's label, Start and Stop; closing the tab stops its run."""
    defaults = demo_state.defaults
    for sample, upload, shown in (tab.content, tab.style, *tab.region_pickers):
        for trigger in (sample.input, upload.upload):
            trigger(demo_state.preview, [sample, upload], [shown, sample, upload],
                    concurrency_limit=None, show_progress="hidden", api_visibility="private")
    # A new photo: paint on it afresh.
    tab.content[2].change(photo_canvas, tab.content[2], tab.regions, concurrency_limit=None,
                          show_progress="hidden", api_visibility="private")
    tab.strength.change(lambda s: balance_label(defaults.replace(strength=float(s))),
                        tab.strength, tab.balance_text, concurrency_limit=None,
                        show_progress="hidden", api_visibility="private")
    run_inputs = [*tab.content[:2], *tab.style[:2], tab.size, tab.scale_count, tab.steps,
                  tab.coarse_steps, tab.strength, tab.content_layers, tab.optimizer, tab.seed,
                  tab.color, tab.image_every_k]
    uploads = [tab.mask_upload, *(picker[1] for picker in tab.region_pickers)]
    for upload, state in zip(uploads, [tab.mask_file, *tab.region_uploads], strict=True):
        upload.change(lambda path: path, upload, state, concurrency_limit=None,
                      show_progress="hidden", api_visibility="private")
    # By name, after the positional inputs, so that each has a name in the API (a *args
    # input is param_N there): the layer weights where they always were, then the panel,
    # so that API calls that predate it still work.
    panel = {weight_name(layer): slider for layer, slider
             in zip(defaults.layer_weights, tab.weight_sliders, strict=True)}
    panel |= {"regions": tab.regions, "mask": tab.mask_file}
    for number, ((sample, _, _), upload) in enumerate(
            zip(tab.region_pickers, tab.region_uploads, strict=True), 1):
        panel |= {f"painting_{number}": sample, f"upload_{number}": upload}
    tab.start.click(demo_state.stylize, run_inputs,
                    [tab.result, tab.loss_plot, tab.status, tab.download], inputs_kwargs=panel,
                    api_name="stylize", concurrency_id="run", concurrency_limit=max_runs,
                    show_progress="full")
    tab.stop.click(demo_state.stop, None, tab.status, concurrency_limit=None,
                   show_progress="hidden", api_name="stop")
    demo.unload(demo_state.forget)


def _wire_explain(
    demo_state: Demo, stylize: types.SimpleNamespace, tabs: types.SimpleNamespace,
    max_runs: int,
) -> None:
    """The Explain tabs' buttons; they read the pictures chosen on the Stylize tab."""
    content, style = list(stylize.content[:2]), list(stylize.style[:2])
    tabs.fm_button.click(
        demo_state.feature_maps,
        [tabs.fm_source, tabs.fm_layer, tabs.fm_count, tabs.fm_normalise, *content, *style,
         stylize.result, stylize.size], tabs.fm_plot, api_name="feature_maps")
    tabs.gram_button.click(demo_state.grams,
                           [tabs.gram_layer, *style, stylize.result, stylize.size],
                           tabs.gram_plot, api_name="gram")
    tabs.rec_button.click(
        demo_state.reconstruct,
        [tabs.rec_kind, tabs.rec_layer, *content, *style, tabs.rec_size, tabs.rec_steps,
         stylize.image_every_k],
        [tabs.rec_image, tabs.rec_status], api_name="reconstruct",
        concurrency_id="run", concurrency_limit=max_runs)
    tabs.rec_stop.click(demo_state.stop, None, tabs.rec_status, concurrency_limit=None,
                        show_progress="hidden", api_visibility="private")
    tabs.paint_button.click(
        demo_state.paint_layer,
        [tabs.paint_kind, tabs.paint_layer, *content, *style, tabs.paint_size,
         tabs.paint_steps, stylize.image_every_k],
        [tabs.paint_image, tabs.paint_status], api_name="paint_layer",
        concurrency_id="run", concurrency_limit=max_runs)
    tabs.paint_stop.click(demo_state.stop, None, tabs.paint_status, concurrency_limit=None,
                          show_progress="hidden", api_visibility="private")
    tabs.pull_button.click(
        demo_state.pulls,
        [tabs.pull_size, tabs.pull_steps, tabs.pull_init, stylize.strength, *content, *style],
        tabs.pull_plot, api_name="pulls", concurrency_id="run", concurrency_limit=max_runs)


def _explain_tabs(defaults: StyleOptions) -> types.SimpleNamespace:
    """The Feature maps, Gram matrices, Reconstructions and pulls tabs; their pictures and
    starting values come from gramscope.explain (GramscopeError when it cannot be imported)."""
    module = explain()
    first_content = canonical_layer(next(iter(defaults.content_layers), CONV_LAYERS[-1]))
    figure1 = explain("figure1").FIGURE1_SETTINGS
    features = module.features.FEATURES_SETTINGS
    with gr.Tab("Feature maps"):
        gr.Markdown("What one layer sees: the channels this image drives hardest, each a map "
                    "of one filter's rectified response over the picture.")
        with gr.Row():
            fm_source = gr.Radio(["photo", "painting", "result"], value="photo", label="image")
            fm_layer = gr.Dropdown(list(LAYERS), value=first_content, label="layer")
            fm_count = gr.Slider(1, 64, value=features.count, step=1,
                                 label="channels shown")
            normalise = module.features.NORMALISE_HELP
            fm_normalise = gr.Radio(list(normalise),
                                    value=features.normalize,
                                    label="scale each map to",
                                    info="; ".join(f"{k}: {v}" for k, v in normalise.items()))
            fm_button = gr.Button("Show feature maps")
        fm_plot = gr.Plot(label="feature maps", format="png")

    with gr.Tab("Gram matrices"):
        gr.Markdown("Style is what the Gram matrix G = F Fᵀ records: which filters fire "
                    "together, wherever they are. The optimiser drives the result's G/M "
                    "towards the painting's; E_l measures the gap.")
        with gr.Row():
            gram_layer = gr.Dropdown(list(CONV_LAYERS), label="layer",
                                     value=next(iter(defaults.layer_weights), first_content))
            gram_button = gr.Button("Compare Gram matrices")
        gram_plot = gr.Plot(label="Gram matrices", format="png")

    with gr.Tab("Reconstructions"):
        gr.Markdown("Start from noise and match only one thing (the paper's Fig. 1): the "
                    "photo's features at a layer (content) or the painting's Gram matrices "
                    "on the style layers up to it (style). Deeper content keeps the objects "
                    "and loses the pixels; deeper style grows larger structures. Content "
                    "starts from smoothed noise with a small TV term, a prior not in the "
                    "paper against pixel noise the layer cannot see.")
        with gr.Row():
            rec_kind = gr.Radio(["content", "style"], value="content", label="match")
            rec_layer = gr.Dropdown(list(CONV_LAYERS), value=first_content, label="layer")
            rec_size = gr.Slider(MIN_SIDE, MAX_SIZE, value=figure1.size, step=1,
                                 label="size (px, long side)")
            rec_steps = gr.Slider(1, MAX_STEPS, value=figure1.steps, step=1, label="steps")
        with gr.Row():
            rec_button = gr.Button("Reconstruct", variant="primary")
            rec_stop = gr.Button("Stop", variant="stop")
        rec_image = gr.Image(label="reconstruction", type="pil", interactive=False,
                             format="png", height=360, elem_id="reconstruction")
        rec_status = gr.Markdown("")

    with gr.Tab("What each layer paints"):
        paint = _paint_tab(defaults)
    with gr.Tab("Where each term pulls"):
        pull = _pulls_tab(defaults)
    return types.SimpleNamespace(**vars(paint), **vars(pull),
                                 **{k: v for k, v in locals().items()
                                    if isinstance(v, gr.components.Component)})


def _paint_tab(defaults: StyleOptions) -> types.SimpleNamespace:
    """The whole style term on one layer: a texture from noise or the photo stylised."""
    layers = explain("layers")
    gr.Markdown("Put all of the style weight on one layer and see what it paints: low "
                "layers carry colour and brushstrokes, middle ones swirls and patterns, high "
                "ones larger structure. E is the Gram error E_l on that layer.")
    with gr.Row():
        paint_kind = gr.Radio([(layers.ROW_LABELS[row], row) for row in layers.ROWS],
                              value=layers.ROWS[0], label="paint")
        paint_layer = gr.Dropdown(list(CONV_LAYERS), label="style layer",
                                  value=canonical_layer(next(iter(defaults.style_layers),
                                                             CONV_LAYERS[0])))
        paint_size = gr.Slider(MIN_SIDE, MAX_SIZE, value=layers.LAYERS_SETTINGS.size,
                               step=1, label="size (px, long side)")
        paint_steps = gr.Slider(1, MAX_STEPS, value=layers.LAYERS_SETTINGS.steps, step=1,
                                label="steps")
    with gr.Row():
        paint_button = gr.Button("Paint", variant="primary")
        paint_stop = gr.Button("Stop", variant="stop")
    paint_image = gr.Image(label="one layer's painting", type="pil", interactive=False,
                           format="png", height=360, elem_id="layer-painting")
    paint_status = gr.Markdown("")
    return types.SimpleNamespace(**{k: v for k, v in locals().items()
                                    if isinstance(v, gr.components.Component)})


def _pulls_tab(defaults: StyleOptions) -> types.SimpleNamespace:
    """Where each loss term pulls the picture: |∇| maps per term at a run's start, middle
    and end."""
    pulls = explain("pulls")
    gr.Markdown("The optimiser follows the gradient of L_total, the sum of α·L_content "
                "and each layer's β·w_l·E_l. Each map is one term's |gradient| per pixel "
                "at the start, middle and end of a run (at the Stylize tab's style strength): "
                "where that term pulls the picture, and how hard.")
    with gr.Row():
        pull_size = gr.Slider(MIN_SIDE, MAX_SIZE, value=pulls.PULLS_SETTINGS.size,
                              step=1, label="size (px, long side)")
        pull_steps = gr.Slider(1, MAX_STEPS, value=pulls.PULLS_SETTINGS.steps, step=1,
                               label="steps")
        pull_init = gr.Radio(list(NAMED_INITS), value=defaults.init
                             if defaults.init in NAMED_INITS else NAMED_INITS[0],
                             label="start from", info=_help("init"))
        pull_button = gr.Button("Map the pulls", variant="primary")
    pull_plot = gr.Plot(label="where each term pulls", format="png")
    return types.SimpleNamespace(**{k: v for k, v in locals().items()
                                    if isinstance(v, gr.components.Component)})


def theme() -> gr.themes.Base:
    """The default look with system fonts: nothing to fetch, not even from this server."""
    system = ("ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial",
              "sans-serif")
    mono = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")
    return gr.themes.Default(font=system, font_mono=mono)


#: Small results (a 128-px run) fill their frame instead of sitting in a corner of it.
#: While a run streams, Gradio pulses a border over each output, an endless opacity
#: animation that Chromium redraws at 60 frames a second: 0.33 of this machine's two
#: cores, taken from the run beside it and costing it far more than that (torch's two
#: threads wait for each other when one loses its core). The border stays, still; the
#: status line and the picture show that the run is alive (issue 22, item 5).
CSS = ("#result img, #reconstruction img, #layer-painting img "
       "{ width: 100%; height: 100%; object-fit: contain; } "
       ".wrap.generating { animation: none !important; }")


def launch(
    demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, *,
    max_upload_mb: float = MAX_UPLOAD_MB, quiet: bool = True,
) -> str:
    """Serve ``demo`` without blocking; returns the local URL. Raises GramscopeError when the
    port is taken."""
    try:
        _, url, _ = demo.launch(
            server_name=host, server_port=port, prevent_thread_lock=True, share=False,
            quiet=quiet, max_file_size=f"{max_upload_mb:g}mb", ssr_mode=False,
            mcp_server=False, pwa=False, enable_monitoring=False, theme=theme(), css=CSS,
            show_error=True,
        )
    except OSError as exc:
        raise GramscopeError(
            f"cannot serve on {host}:{port} ({exc}); pick another with --port"
        ) from None
    return url
