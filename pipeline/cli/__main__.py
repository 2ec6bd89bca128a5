"""``python -m pipeline.cli``: the same as the ``cxstream`` console script (the supervisor starts
its worker this way)."""

from pipeline.cli import main

if __name__ == "__main__":
    main()
