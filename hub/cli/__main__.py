"""``python -m hub.cli``: the same as the ``hub`` console script."""

from hub.cli import main

if __name__ == "__main__":
    main()
