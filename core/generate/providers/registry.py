"""Provider registry: a service name -> the class that speaks to it, imported on first use.

``get_provider("local")`` costs nothing; a remote provider's SDK is imported only when
that provider is asked for. Add a service by adding one line to PROVIDERS.
"""

from __future__ import annotations

import importlib
from typing import Any

from shotline.core.errors import UsageError, missing_module
from shotline.core.generate.providers.base import Provider

PROVIDERS: dict[str, str] = {
    "local": "shotline.core.generate.providers.local:LocalProvider",
    "runway": "shotline.core.generate.providers.runway:RunwayProvider",
    "sora": "shotline.core.generate.providers.sora:SoraProvider",
    "luma": "shotline.core.generate.providers.luma:LumaProvider",
    "kling": "shotline.core.generate.providers.kling:KlingProvider",
    "pika": "shotline.core.generate.providers.pika:PikaProvider",
}


def provider_names() -> list[str]:
    return sorted(PROVIDERS)


def get_provider(name: str, **options: Any) -> Provider:
    """An instance of the provider called ``name``; UsageError listing the known names otherwise."""
    target = PROVIDERS.get(name)
    if target is None:
        raise UsageError(f"unknown provider {name!r}; known: {', '.join(provider_names())}")
    module, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:  # the provider's SDK is an extra this install lacks
        if (exc.name or "").split(".")[0] == "shotline":
            raise
        raise missing_module(exc) from None
    provider = cls(**options)
    if not isinstance(provider, Provider):  # pragma: no cover - a registry typo
        raise TypeError(f"{target} is not a Provider")
    return provider
