"""The demo's regions: brush strokes and uploaded masks to one mask per painting."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gramscope.errors import InputImageError
from gramscope.web.regions import REGION_COLOURS, painted_regions, uploaded_regions

RED, BLUE = (hex_ for _, hex_ in REGION_COLOURS)


def test_strokes_become_one_soft_mask_per_colour():
    layer = Image.new("RGBA", (8, 4), (0, 0, 0, 0))
    layer.paste((0xE6, 0x19, 0x4B, 255), (0, 0, 3, 4))  # red on the left
    layer.paste((0xE6, 0x19, 0x4B, 100), (3, 0, 4, 4))  # its anti-aliased edge
    layer.paste((0x40, 0x60, 0xD0, 255), (6, 0, 8, 4))  # blue, not quite the palette's
    regions = painted_regions([layer])
    assert regions.colours == (0, 1)
    assert regions.names == (f"painted red {RED}", f"painted blue {BLUE}")
    red, blue = (np.asarray(m) for m in regions.masks)
    assert red[0].tolist() == [255, 255, 255, 100, 0, 0, 0, 0]  # opacity is the weight
    assert blue[0].tolist() == [0, 0, 0, 0, 0, 0, 255, 255]


def test_nothing_painted_is_no_regions():
    assert painted_regions([]) is None
    assert painted_regions([Image.new("RGBA", (8, 4), (0, 0, 0, 0))]) is None
    faint = Image.new("RGBA", (8, 4), (0x43, 0x63, 0xD8, 3))  # below masks.MIN_COVER
    assert painted_regions([faint]) is None


def test_a_greyscale_upload_is_the_first_colours_region():
    grey = Image.new("RGB", (8, 4), (200, 205, 196))  # a JPEG's colour noise stays grey
    regions = uploaded_regions(grey, "upload:m.jpg")
    assert regions.colours == (0,) and regions.names == ("upload:m.jpg",)
    assert regions.masks[0].mode == "L"


def test_a_map_in_the_brush_colours_gives_the_colours_it_holds():
    colour_map = Image.new("RGB", (8, 4), "black")
    colour_map.paste(BLUE, (0, 0, 4, 4))
    regions = uploaded_regions(colour_map, "upload:map.png")
    assert regions.colours == (1,) and regions.names == (f"upload:map.png blue {BLUE}",)
    assert np.asarray(regions.masks[0])[0].tolist() == [255] * 4 + [0] * 4
    with pytest.raises(InputImageError, match=r"mask upload:x.png is neither greyscale nor "
                       r"painted in the brush colours \(red #e6194b, blue #4363d8\)"):
        uploaded_regions(Image.new("RGB", (8, 4), "green"), "upload:x.png")
