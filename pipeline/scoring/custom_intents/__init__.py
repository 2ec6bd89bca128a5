"""Business-defined intents: an operator's own intent pack, fitted on the model's embeddings.

One module per job: ``pack`` (the YAML format and its validation), ``embedding`` (sentence
vectors from the scoring model), ``classifier`` (the numpy softmax), ``threshold`` (the
out-of-scope rule), ``fit`` and ``fitted`` (fitting, and the JSON file it writes),
``predict`` (labels with reasons), ``measure`` and ``sources`` (accuracy on held-out data),
``runtime`` (what the worker loads). The format, the rule and the numbers: docs/intents.md.
"""
