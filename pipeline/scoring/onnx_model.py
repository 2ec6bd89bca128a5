"""Run an exported model: tokenizer.json (HF tokenizers) + model.onnx (onnxruntime)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from pipeline.scoring.card import ModelCard, file_sha256, load_card

FloatArray = np.ndarray


class OnnxModel:
    """A loaded model directory: tokenises with dynamic padding and runs one batch at a time."""

    def __init__(self, model_dir: Path, *, threads: int = 0, verify_sha256: bool = True) -> None:
        self.dir = model_dir
        self.card: ModelCard = load_card(model_dir)
        onnx_path = model_dir / "model.onnx"
        if verify_sha256:
            actual = file_sha256(onnx_path)
            if actual != self.card.sha256:
                raise ValueError(
                    f"{onnx_path} sha256 {actual[:12]}… does not match its card "
                    f"({self.card.sha256[:12]}…): the model file and card disagree"
                )
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads wait hot for the next batch; in a worker that shares its cores with
        # Kafka clients and a broker they steal the time those need (docs/performance.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, not truncated (the caller windows long texts)."""
        return [enc.ids for enc in self.tokenizer.encode_batch(list(texts))]

    def run_ids(self, batch: Sequence[Sequence[int]]) -> dict[str, FloatArray]:
        """Run one batch of token-id sequences (each ≤ max_length), padded to the longest."""
        width = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        outputs = self.session.run(None, {k: v for k, v in feed.items() if k in self.input_names})
        return dict(zip(self.output_names, outputs, strict=True))

    def run(self, texts: Sequence[str]) -> dict[str, FloatArray]:
        """Run texts truncated to the model window (head only); for evaluation and benchmarks."""
        limit = self.card.max_length
        ids = []
        for seq in self.encode(texts):
            ids.append(seq if len(seq) <= limit else seq[: limit - 1] + seq[-1:])
        return self.run_ids(ids)
