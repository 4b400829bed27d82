"""``python -m cw.demo``: the demo behind ``make demo`` (see cw.surfaces.demo)."""

from cw.surfaces.demo import main

if __name__ == "__main__":
    main()
