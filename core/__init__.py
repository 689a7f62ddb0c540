"""shotline.core: everything below the CLI, split by stage: media, ops, generate, review, produce.

Import submodules directly (``from shotline.core.media.probe import probe``); this package
keeps its own import cheap so the CLI starts fast.
"""
