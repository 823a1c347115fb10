"""Loading the pipeline where it runs (this process or a Ray actor), and where its
span_relation component puts the entities."""
from typing import Optional

from .errors import ExtractUsageError
from .tables import EntitySource


class PipelineError(ExtractUsageError):
    """The pipeline cannot be used for extraction; the message says why."""


def use_device(gpu_id: int) -> None:
    """``gpu_id >= 0``: require that GPU (fails if it cannot be used); -1: the CPU."""
    if gpu_id >= 0:
        import spacy

        spacy.require_gpu(gpu_id)


def load_pipeline(model: str, max_chars: int, gpu_id: int = -1, threads: Optional[int] = None,
                  int8: bool = False):
    import spacy

    import spacy_jere  # noqa: F401  (doc._.relations, for pipelines loaded by name)

    use_device(gpu_id)
    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        nlp = spacy.load(model)
    except OSError as err:
        raise PipelineError(f"{model}: not a pipeline spaCy can load ({err})") from None
    # Longer texts are refused before they reach the pipeline (--max-chars), so spaCy's
    # own limit must not refuse the ones we accept.
    nlp.max_length = max(nlp.max_length, max_chars + 1)
    entity_source(nlp)
    if int8:
        from ..quantization import QuantizationError, quantize_pipeline

        try:
            quantize_pipeline(nlp)
        except QuantizationError as err:
            raise PipelineError(f"{model}: {err}") from None
    return nlp


def entity_source(nlp) -> EntitySource:
    """Where the entities of the pipeline's span_relation component are: its span group,
    or (``entities_from``) another component's ``doc.ents`` or span group."""
    for name, factory in nlp.pipe_factories.items():
        if factory == "span_relation":
            pipe = nlp.get_pipe(name)
            entities_from = pipe.cfg.get("entities_from")
            if entities_from == "ents":
                return ("ents", None)
            return ("spans", entities_from or pipe.spans_key)
    raise PipelineError(f"the pipeline ({', '.join(nlp.pipe_names) or 'no components'}) has no span_relation "
                        "component: extract needs a spacy-jere pipeline")
