"""The training objective: the head's loss, plus the span pruner's when the model has
one, plus the token stack's tag loss when it has one. With a pruner the head classified
only the kept spans (``kept_spans``), so its entity targets are those rows'; the
pruner's scorer learns from every candidate."""
from .heads import Head, HeadLoss


def model_loss(head: Head, pruner, ops, output: dict, span_targets, pair_targets, token_stack=None,
               tag_targets=None) -> HeadLoss:
    """Loss and gradients of the net's ``output``; ``span_targets`` (S,) and
    ``pair_targets`` (P, R) on the model's device; with a token stack, ``tag_targets``
    (T,) the gold tag ids of the batch's tokens."""
    kept = output.get("kept_spans")
    head_targets = span_targets if kept is None else span_targets[ops.asarray(kept, dtype="int64")]
    result = head.loss(ops, output, head_targets, pair_targets)
    if pruner is not None and "pruner_scores" in output:
        loss, grad = pruner.loss(ops, output["pruner_scores"], (span_targets > 0).astype("float32"))
        result.total += loss
        result.terms["pruner"] = loss
        result.gradients["pruner_scores"] = grad
    if token_stack is not None and tag_targets is not None and "tag_logits" in output:
        loss, grad = token_stack.loss(ops, output["tag_logits"], tag_targets)
        result.total += loss
        result.terms["tags"] = loss
        result.gradients["tag_logits"] = grad
    return result
