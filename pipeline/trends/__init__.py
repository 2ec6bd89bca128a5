"""Emerging issues: customer messages clustered by meaning, clusters that grow far past their
baseline reported as trends on ``cx.trends`` and ``emerging_issue`` alerts on ``cx.alerts``.

``clusters`` (leader clustering of unit embeddings, per-cluster event-time counts), ``labels``
(class-based TF-IDF labels), ``detector`` (the decisions, over any mapping), ``alerts`` (a
trend as an alert), ``agent`` (the two agents that move records; docs/architecture.md §16).
"""
