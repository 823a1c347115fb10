"""Does STSN's token stack (LabelAttentionModule, 4 layers, 8 heads, width 384) stay
trainable at a given learning rate? A synthetic task, no encoder: token vectors of the
MiniLM's scale (std 0.4 around one of 5 class prototypes), a linear classifier over the
entity stream, and a tag loss over random tags; AdamW as in fast.cfg. Prints the loss, the
norm of the gradient that reaches the token vectors (what the encoder would get) and the
spread of the entity stream across tokens, every 20 steps. Used for issue 15's STSN
diagnosis (docs/papers.md); writes bench/diagnostics/stack_lr_probe.md.

    python scripts/probe_label_attention_lr.py --rates 5e-3 1e-3 5e-4
"""
import argparse
from pathlib import Path

import torch

from spacy_jere.experiments.machine import machine
from spacy_jere.layers.label_attention import LabelAttentionModule, label_attention_stack

OUT = Path(__file__).resolve().parents[1] / "bench" / "diagnostics" / "stack_lr_probe.md"


def probe(rate: float, steps: int, seed: int) -> list:
    torch.manual_seed(seed)
    n_tokens, sentence = 8 * 30, 30
    module = LabelAttentionModule(label_attention_stack(n_layers=4, n_heads=8, label_embedding=False), 384, 9).train()
    classifier = torch.nn.Linear(384, 5)
    optimizer = torch.optim.AdamW([*module.parameters(), *classifier.parameters()], lr=rate, weight_decay=0.01)
    prototypes = torch.randn(5, 384) * 0.4
    sentence_ids = torch.arange(n_tokens) // sentence
    rows = []
    for step in range(steps + 1):
        classes, tags = torch.randint(0, 5, (n_tokens,)), torch.randint(0, 9, (n_tokens,))
        tokens = (prototypes[classes] + torch.randn(n_tokens, 384) * 0.4).requires_grad_()
        entities, _, tag_logits, _ = module(tokens, sentence_ids, tags)
        loss = (torch.nn.functional.cross_entropy(classifier(entities), classes)
                + torch.nn.functional.cross_entropy(tag_logits, tags))
        optimizer.zero_grad()
        loss.backward()
        if step % 20 == 0:
            rows.append((step, float(loss), float(tokens.grad.norm()), float(entities.std(0).mean())))
        optimizer.step()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[5e-3, 1e-3, 5e-4])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    info = machine()
    lines = ["# STSN's token stack at several learning rates (synthetic task)", "",
             f"`python scripts/probe_label_attention_lr.py --rates {' '.join(map(str, args.rates))} --steps "
             f"{args.steps} --seed {args.seed}` ({info.get('cpu')}, {info.get('cores')} cores). The classification "
             "part of the loss can reach 0; the tag part (random tags) stays at log 9 = 2.20.", "",
             "| learning rate | step | loss | gradient norm at the token vectors | entity stream spread |",
             "| --- | --- | --- | --- | --- |"]
    for rate in args.rates:
        for step, loss, grad, spread in probe(rate, args.steps, args.seed):
            lines.append(f"| {rate:g} | {step} | {loss:.3f} | {grad:.2e} | {spread:.3f} |")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
