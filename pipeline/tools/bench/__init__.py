"""Benchmarks: transport limit, spine, model, full pipeline, baselines (cxstream bench)."""
