"""The photo × painting pairs that bench_quality.py judges, and where each image comes from.

No image is copied into the repository: each is read from the installed package that ships
it (``pip install -e '.[bench]'`` brings scikit-image and matplotlib). The packages are
located without being imported (``importlib.util.find_spec``), so only their data files are
used. Only files inside the packages' wheels are listed: scikit-image's data folder also
names images that it downloads at run time, and none of those is used.

Paintings: besides the two bundled with gramscope, four public-domain paintings of other
kinds (dark, large-stroke, graphic, abstract) are kept in bench/paintings/ with their
sources (bench/paintings/SOURCES.md); no PyPI package was found that ships them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

#: The ``package`` of an image kept in this folder rather than in an installed package.
BENCH = "bench"


@dataclass(frozen=True)
class Source:
    """One image file inside an installed package."""

    package: str
    path: str  # inside the package
    what: str
    licence: str

    def locate(self) -> Path:
        """The file's path; raises LookupError when its package is not installed."""
        if self.package == BENCH:
            path = Path(__file__).parent / self.path
        else:
            spec = importlib.util.find_spec(self.package)
            if spec is None or not spec.submodule_search_locations:
                raise LookupError(f"{self.package} is not installed (pip install -e '.[bench]')")
            path = Path(next(iter(spec.submodule_search_locations))) / self.path
        if not path.is_file():
            raise LookupError(f"{self.package} has no {self.path}")
        return path


IMAGES = {
    "tubingen": Source("gramscope", "samples/tubingen.jpg",
                       "Neckarfront in Tübingen, photograph by Andreas Praefcke",
                       "CC BY 3.0"),
    "astronaut": Source("gramscope", "samples/astronaut.jpg",
                        "Astronaut Eileen Collins, NASA", "public domain"),
    "starry_night": Source("gramscope", "samples/starry_night.jpg",
                           "Vincent van Gogh, The Starry Night, 1889", "public domain"),
    "woman_with_hat": Source("gramscope", "samples/woman_with_hat.jpg",
                             "Henri Matisse, Woman with a Hat, 1905", "public domain"),
    "chelsea": Source("skimage", "data/chelsea.png",
                      "Chelsea the cat, photograph by Stefan van der Walt", "CC0"),
    "coffee": Source("skimage", "data/coffee.png",
                     "Coffee cup, photograph by Rachel Michetti (Pikolo Espresso Bar)", "CC0"),
    "rocket": Source("skimage", "data/rocket.jpg",
                     "Launch of DSCOVR on Falcon 9, photograph by SpaceX", "public domain"),
    "grace_hopper": Source("matplotlib", "mpl-data/sample_data/grace_hopper.jpg",
                           "Rear Admiral Grace Hopper, official US Navy photograph",
                           "public domain (work of the US federal government)"),
    "shipwreck": Source(BENCH, "paintings/shipwreck.jpg",
                        "J. M. W. Turner, The Shipwreck, 1805", "public domain"),
    "the_scream": Source(BENCH, "paintings/the_scream.jpg",
                         "Edvard Munch, The Scream, 1893", "public domain"),
    "wave": Source(BENCH, "paintings/wave.jpg",
                   "Katsushika Hokusai, The Great Wave off Kanagawa, c. 1831", "public domain"),
    "udnie": Source(BENCH, "paintings/udnie.jpg",
                    "Francis Picabia, Udnie, 1913", "public domain"),
}

PAINTINGS = ("starry_night", "woman_with_hat", "shipwreck", "the_scream", "wave", "udnie")


@dataclass(frozen=True)
class Pair:
    photo: str
    painting: str

    @property
    def name(self) -> str:
        return f"{self.photo}-{self.painting}"

    def paths(self) -> tuple[Path, Path]:
        return IMAGES[self.photo].locate(), IMAGES[self.painting].locate()


PAIRS = (
    Pair("tubingen", "starry_night"),  # the paper's own pair
    Pair("chelsea", "woman_with_hat"),
    Pair("tubingen", "woman_with_hat"),
    Pair("astronaut", "starry_night"),
    Pair("astronaut", "woman_with_hat"),
    Pair("coffee", "starry_night"),
    Pair("rocket", "woman_with_hat"),
    Pair("grace_hopper", "starry_night"),
    Pair("tubingen", "wave"),
    Pair("chelsea", "the_scream"),
    Pair("rocket", "shipwreck"),
    Pair("grace_hopper", "udnie"),
)


def pair_named(name: str) -> Pair:
    for pair in PAIRS:
        if pair.name == name:
            return pair
    raise KeyError(f"no pair {name!r}; choose from {', '.join(p.name for p in PAIRS)}")
