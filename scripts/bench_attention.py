"""Time range attention's two equal computations on every candidate span of a batch of
sentences attending over its sentence (paper 001, eq. 3): the padded per-range product
(used when queries share ranges) against the ragged (query, token) gathers. Both in the
same run; writes the figures and their ratio to --out."""
import argparse
import json
import time
from pathlib import Path

import torch

from experiment import machine  # scripts/ is on sys.path when run as a script
from spacy_jere.layers.attention import RangeAttention


def sentence_spans(n_sentences: int, words: int, max_width: int):
    spans, sentences = [], []
    for s in range(n_sentences):
        for start in range(words):
            for width in range(1, max_width + 1):
                if start + width <= words:
                    spans.append((s * words + start, s * words + start + width))
                    sentences.append((s * words, (s + 1) * words))
    return torch.tensor(spans), torch.tensor(sentences)


def best_ms(fn, repeats: int, inner: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - start) / inner)
    return 1000 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sentences", type=int, default=8)
    parser.add_argument("--words", type=int, default=30)
    parser.add_argument("--max-width", type=int, default=10)
    parser.add_argument("--width", type=int, default=384, help="token vector width (MiniLM-L6: 384)")
    parser.add_argument("--variant", default="multihead")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/attention_shared_ranges.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    spans, sentences = sentence_spans(args.sentences, args.words, args.max_width)
    tokens = torch.randn(args.sentences * args.words, args.width)
    queries = torch.randn(len(spans), args.width)
    attention = RangeAttention(args.width, args.width, args.variant, 128, 8).eval()
    starts, ends = sentences[:, 0], sentences[:, 1]
    with torch.no_grad():
        shared = lambda: attention(queries, tokens, starts, ends)  # noqa: E731
        ragged = lambda: attention._ragged(queries, tokens, starts, ends)  # noqa: E731
        difference = (shared() - ragged()).abs().max().item()
        figures = {"shared_ms": best_ms(shared, 3, 5), "ragged_ms": best_ms(ragged, 3, 5)}
    figures.update(
        ragged_over_shared=figures["ragged_ms"] / figures["shared_ms"], max_abs_difference=difference,
        spans=len(spans), sentences=args.sentences, words_per_sentence=args.words, max_span_width=args.max_width,
        token_width=args.width, variant=args.variant, threads=args.threads, forward_only=True,
        machine=machine(),
        measured=time.strftime("%Y-%m-%d"),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1, sort_keys=True))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
