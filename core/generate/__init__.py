"""shotline.core.generate: storyboard to takes.

The storyboard (validated data), the camera and style vocabulary, the prompt builder, the
providers (one module per AI service, plus the offline local animatic), the SQLite ledger and
the resumable orchestrator that asks providers for every take exactly once.
"""
