"""Upscaling: Real-ESRGAN (PyTorch or ncnn), Topaz Video AI and ffmpeg lanczos, on a streaming,
resumable segment pipeline. The public entry points are :func:`upscale` and :func:`describe`.
"""

from __future__ import annotations

from shotline.upscale.api import BACKENDS, UpscaleOptions, UpscaleReport, describe, upscale
from shotline.upscale.ffmpeg_backends import TopazOptions
from shotline.upscale.models import MODELS

__all__ = ["BACKENDS", "MODELS", "TopazOptions", "UpscaleOptions", "UpscaleReport", "describe", "upscale"]
