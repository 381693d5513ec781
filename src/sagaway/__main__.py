"""``python -m sagaway``: the same command line as the ``sagaway`` script."""

from sagaway.cli import main

if __name__ == "__main__":
    main()
