"""The live web demo, ``gramscope demo``: a Gradio page over the engine's step stream.

Gradio is imported only by :mod:`gramscope.web.app`, so the CLI stays light until the demo
is asked for.
"""
