"""shotline.core.ops: every post-processing operation, each a plan builder over core.media.

Cutting-room basics (trim, concat, fade/loop/speed, transitions), sound, previews (gif, frames,
thumbs), platform presets and reframing, resize, LUTs and review burn-ins.
"""
