"""``cxstream risk fit``: replay history, build decision-time examples, fit, evaluate, write."""
