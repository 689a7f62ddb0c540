"""shotline.core: media probing, the ffmpeg runner and every post-processing operation.

Import submodules directly (``from shotline.core.probe import probe``); this package
keeps its own import cheap so the CLI starts fast.
"""
