"""The VRU information-sharing hub: a pure domain library.

Nothing under ``hub/`` imports faust; the stream adapters live in ``agents/``.
"""

__version__ = "0.1.0"
