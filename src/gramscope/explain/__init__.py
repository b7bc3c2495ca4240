"""See inside the network: feature maps, Gram matrices, the paper's figures, a report.

Every optimisation here is one call of :func:`gramscope.api.stylize`, the engine's one
consumer path (see :mod:`.runner`); matplotlib is needed only to draw
(``pip install 'gramscope[explain]'``).

``__all__`` lists the current names only; the British spellings of earlier releases
(``synthesise_style``, ``compare_optimisers``, ``OptimiserRace``) still import and warn.
"""

from ..deprecation import module_aliases
from .anatomy import LossAnatomy, loss_anatomy
from .compare import Comparison, compare_representations
from .features import FeatureGrid, feature_grid, feature_maps, strongest_channels
from .figure1 import Figure1, figure1, reconstruct_content, synthesize_style
from .figure1 import synthesise_style as synthesise_style  # deprecated, not in __all__
from .figure3 import Figure3, equivalent_ratio, figure3
from .grams import GramViews, cluster_order, gram_views
from .layers import LayerPaintings, layer_paintings
from .optimisers import OptimizerRace, compare_optimizers
from .optimisers import compare_optimisers as compare_optimisers  # deprecated, not in __all__
from .pulls import PullMaps, pull_maps
from .report import write_report
from .runner import Panel
from .shuffle import TileShuffle, shuffle_painting

__all__ = [
    "Comparison", "FeatureGrid", "Figure1", "Figure3", "GramViews", "LayerPaintings",
    "LossAnatomy", "OptimizerRace", "Panel", "PullMaps", "TileShuffle", "cluster_order",
    "compare_optimizers", "compare_representations", "equivalent_ratio", "feature_grid",
    "feature_maps", "figure1", "figure3", "gram_views", "layer_paintings", "loss_anatomy",
    "pull_maps", "reconstruct_content", "shuffle_painting",
    "strongest_channels", "synthesize_style", "write_report",
]

# Deprecated names (see the docstring): the functions warn when called, the class here.
__getattr__ = module_aliases(__name__, {"OptimiserRace": lambda: OptimizerRace})
