"""Refactoring keeps pictures: a small coarse-to-fine run must reproduce a stored image.

``data/reference_run_64px.png`` was made by the engine before it was split into modules
(and the split reproduced it bit for bit). Another CPU may round differently in the last
bit, which L-BFGS can amplify a little over ten steps, so the test allows a stray level;
any change of behaviour moves thousands of values by far more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from gramscope.image import to_pil
from gramscope.options import StyleOptions
from gramscope.transfer import run

REFERENCE = Path(__file__).parent / "data" / "reference_run_64px.png"


def test_a_small_run_reproduces_the_stored_image(tiny_content, tiny_style):
    options = StyleOptions(size=64, scales=(32, 64), steps=4, coarse_steps=6, device="cpu")
    records = list(run(tiny_content, tiny_style, options))
    made = np.asarray(to_pil(records[-1].image), dtype=np.int16)
    expected = np.asarray(Image.open(REFERENCE).convert("RGB"), dtype=np.int16)
    assert made.shape == expected.shape == (48, 64, 3)
    difference = np.abs(made - expected)
    assert difference.max() <= 2 and difference.mean() < 0.05, (difference.max(),
                                                                difference.mean())
