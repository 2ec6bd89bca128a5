"""Scoring: ONNX models served by onnxruntime (no torch at run time)."""
