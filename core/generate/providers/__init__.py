"""Generation providers: one small interface (base.Provider), one module per service.

``registry`` maps a service name to its class and imports it on first use, so a user
without a service's SDK can still use the others.
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "base http kling local luma pika registry runway sora",
    "base:Provider base:GenerationRequest base:ShotKind registry:get_provider",
)
