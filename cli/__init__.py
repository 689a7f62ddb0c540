"""shotline.cli: the click command group. Thin commands over the libraries."""
