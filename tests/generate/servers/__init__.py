"""Local stand-ins for the remote generation services (real sockets on 127.0.0.1)."""
