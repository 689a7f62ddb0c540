"""Conform: render any OTIO timeline to video with ffmpeg.

``model`` reads a timeline into a flat, frame-exact render model; ``graph`` writes one ffmpeg
filter graph for it; ``smart`` copies untouched GOPs and encodes only around edits; ``render``
ties them together behind :func:`render_timeline`.
"""
