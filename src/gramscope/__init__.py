"""gramscope: neural style transfer after Gatys, Ecker & Bethge, built to show why it works."""

from .api import Result, stylize
from .errors import GramscopeError, InputImageError, OptionsError, WeightsError
from .image import load_image, read_metadata, save_image
from .options import StyleOptions
from .transfer import StepRecord, run
from .vgg import VGG19, load_vgg19

__all__ = [
    "GramscopeError", "InputImageError", "OptionsError", "Result", "StepRecord",
    "StyleOptions", "VGG19", "WeightsError", "load_image", "load_vgg19", "read_metadata",
    "run", "save_image", "stylize",
]
