"""``python -m cnnspec``: the command line, as the ``cnnspec`` script runs it."""

from cnnspec.cli import main

if __name__ == "__main__":
    main()
