"""Training, fitting and export of scoring models (never imported on the runtime path).

Need torch (the training extra, ``make train-setup``): ``train``, ``export``, ``calibrate`` and
``build`` make the default multi-head model (``models/cx-minilm-multihead``, ``make models``);
``hf_export`` exports a Hugging Face checkpoint (reading it: ``hf_checkpoint``; writing the model
directory: ``hf_install``).

numpy only, seconds, runnable in the runtime venv: ``sentiment_rule`` (the sentiment head's class
offsets and temperature, on TweetEval val), ``urgency_layer`` (the urgency layer, on the labelled
fit split), ``sentiment_layer`` (the sentiment layer on SemEval tweets and the labelled fit
split: scikit-learn, training venv, ~20 minutes), ``audit_gate`` (the fairness audit into the
card), ``card_refresh`` (re-evaluate into the card), ``card_text`` (MODEL_CARD.md),
``data_mix`` (which rows train), ``urgency_levels``, ``progress``.
"""
