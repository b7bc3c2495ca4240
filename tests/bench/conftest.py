"""The bench's scripts import their neighbours by bare name (``from judge import …``), as
they do when run as ``python bench/<script>.py``: their folder goes on the path."""

import sys
from pathlib import Path

BENCH = str(Path(__file__).parents[2] / "bench")
if BENCH not in sys.path:
    sys.path.append(BENCH)
