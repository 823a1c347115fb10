"""The training objective: the head's loss, plus the span pruner's when the model has
one. With a pruner the head classified only the kept spans (``kept_spans``), so its
entity targets are those rows'; the pruner's scorer learns from every candidate."""
from .heads import Head, HeadLoss


def model_loss(head: Head, pruner, ops, output: dict, span_targets, pair_targets) -> HeadLoss:
    """Loss and gradients of the net's ``output``; ``span_targets`` (S,) and
    ``pair_targets`` (P, R) on the model's device."""
    kept = output.get("kept_spans")
    head_targets = span_targets if kept is None else span_targets[ops.asarray(kept, dtype="int64")]
    result = head.loss(ops, output, head_targets, pair_targets)
    if pruner is not None and "pruner_scores" in output:
        loss, grad = pruner.loss(ops, output["pruner_scores"], (span_targets > 0).astype("float32"))
        result.total += loss
        result.terms["pruner"] = loss
        result.gradients["pruner_scores"] = grad
    return result
