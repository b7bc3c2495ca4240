"""Refactoring keeps pictures: a small coarse-to-fine run must reproduce a stored image.

``data/reference_run_64px.png`` was made by the engine before it was split into modules
(and the split reproduced it bit for bit). Another CPU rounds differently in the last bit
and L-BFGS amplifies that over ten steps: on the H200 machine's CPU the image differed by
at most 3 levels, 0.35 on average; on an AVX2-only AMD EPYC by 0.49 on average, 3 levels at
the 99th percentile and 10 at one pixel (28 of 9216 values above 5). Changes of behaviour
move far more: one more step gives 0.98 on average (1.56 on the EPYC, 7 levels at the
99th percentile), α×1.05 gives 17 (measured), so the bounds sit between. The largest
single difference is left unbounded: it is one pixel's rounding luck.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gramscope import transfer
from gramscope.image import to_pil
from gramscope.lbfgs import DeviceLBFGS
from gramscope.options import StyleOptions

REFERENCE = Path(__file__).parent / "data" / "reference_run_64px.png"


@pytest.mark.slow
def test_a_small_run_reproduces_the_stored_image(monkeypatch, tiny_content, tiny_style):
    # The stored image predates the size-invariant default, the matched start and the
    # CPU's own L-BFGS first step and the bf16 network of precision auto: those are set back
    # to what made it (torch's first step is "l1", fp32), so this still checks the rest of
    # the engine.
    monkeypatch.setattr(transfer, "DeviceLBFGS", functools.partial(DeviceLBFGS,
                                                                  first_step="l1"))
    options = StyleOptions(size=64, scales=(32, 64), steps=4, coarse_steps=6, device="cpu",
                           init="content", literal_sum=True, alpha=5e-5, precision="fp32")
    records = list(transfer.run(tiny_content, tiny_style, options))
    made = np.asarray(to_pil(records[-1].image), dtype=np.int16)
    expected = np.asarray(Image.open(REFERENCE).convert("RGB"), dtype=np.int16)
    assert made.shape == expected.shape == (48, 64, 3)
    difference = np.abs(made - expected)
    p99 = float(np.percentile(difference, 99))
    assert p99 <= 4 and difference.mean() < 0.75, (p99, difference.mean())
