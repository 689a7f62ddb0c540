"""``python -m shotline``: the same command line as the ``shotline`` script."""

from shotline.cli.main import main

if __name__ == "__main__":
    main()
