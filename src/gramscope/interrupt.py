"""Ctrl-C and SIGTERM as a request to stop after the current step, keeping the image."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import types
from collections.abc import Iterator


class StopFlag:
    """First Ctrl-C or SIGTERM: finish the current step, keep the image, stop.

    A second Ctrl-C raises KeyboardInterrupt at once (the engine still hands back the image
    it has). Callable, so it can be passed as ``stop=`` to the engine.
    """

    def __init__(self, announce: bool = True) -> None:
        self.requested = False
        self.announce = announce

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: types.FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        if self.announce:
            print(f"\n{signal.Signals(signum).name}: stopping after this step and keeping the "
                  "latest image (Ctrl-C again to stop at once)", file=sys.stderr)

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Handle SIGINT/SIGTERM while inside; a no-op outside the main thread."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT,
                                                                      signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
