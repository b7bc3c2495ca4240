"""The old name of :mod:`gramscope.explain.figure1`, kept only because ``gramscope.web``
still imports it by this name (``explain("reconstruct")``). New code imports figure1; this
file goes once the web demo does too.
"""

from .figure1 import FIGURE1_DEFAULTS, content_reconstruction_options, style_synthesis_options

__all__ = ["FIGURE1_DEFAULTS", "content_reconstruction_options", "style_synthesis_options"]
