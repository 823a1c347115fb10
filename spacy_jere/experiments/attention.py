"""Time range attention's two equal computations on every candidate span of a batch of
sentences attending over its sentence (paper 001, eq. 3): the padded per-range product
(used when queries share ranges) against the ragged (query, token) gathers. Both in the
same run; writes the figures and their ratio."""
import json
import time
from pathlib import Path

from .machine import machine


def sentence_spans(n_sentences: int, words: int, max_width: int):
    import torch

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


def measure(out: Path, sentences: int, words: int, max_width: int, width: int, variant: str, threads: int) -> dict:
    import torch

    from spacy_jere.layers.attention import RangeAttention

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    spans, bounds = sentence_spans(sentences, words, max_width)
    tokens = torch.randn(sentences * words, width)
    queries = torch.randn(len(spans), width)
    attention = RangeAttention(width, width, variant, 128, 8).eval()
    starts, ends = bounds[:, 0], bounds[:, 1]
    with torch.no_grad():
        shared = lambda: attention(queries, tokens, starts, ends)  # noqa: E731
        ragged = lambda: attention._ragged(queries, tokens, starts, ends)  # noqa: E731
        difference = (shared() - ragged()).abs().max().item()
        figures = {"shared_ms": best_ms(shared, 3, 5), "ragged_ms": best_ms(ragged, 3, 5)}
    figures.update(
        ragged_over_shared=figures["ragged_ms"] / figures["shared_ms"], max_abs_difference=difference,
        spans=len(spans), sentences=sentences, words_per_sentence=words, max_span_width=max_width,
        token_width=width, variant=variant, threads=threads, forward_only=True,
        machine=machine(),
        measured=time.strftime("%Y-%m-%d"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=1, sort_keys=True))
    print(json.dumps(figures))
    return figures
