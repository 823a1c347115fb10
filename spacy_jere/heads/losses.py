"""Loss arithmetic on thinc arrays (numpy or cupy): stable log-softmax and binary
cross-entropy with logits."""


def log_softmax(xp, logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(-1, keepdims=True))


def bce_with_logits(xp, logits, targets):
    # Stable: max(x, 0) - x*y + log(1 + exp(-|x|)).
    return xp.maximum(logits, 0) - logits * targets + xp.log1p(xp.exp(-xp.abs(logits)))
