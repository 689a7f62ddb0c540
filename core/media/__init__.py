"""shotline.core.media: media facts and the machinery every operation runs on.

Probe (facts as a frozen MediaInfo), ffmpeg discovery, plans (argv as data), the one runner,
encoder settings, filter-text escaping, clip normalization and the smart-render frame index.
"""
