"""The ``span_relation`` pipe: the spaCy contract around the model (initialize, predict,
set_annotations, update, get_loss, serialization). Candidates come from the suggester
(``suggesters``), gold targets from ``targets``, scores and decisions from the model's
head (``heads``)."""
import warnings
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
import srsly
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Model, Optimizer, set_dropout_rate

from .annotations import decoded_docs, write_entities, write_tags
from .candidates import CandidateBatch, inference_candidates, training_candidates
from .entity_sources import given_candidates
from .heads import Head
from .model import finish_update
from .objective import model_loss
from .relations import get_relations, set_relations
from .tagging import TagScheme, batch_tags, choose_scheme
from .targets import LabelMaps, TargetStats, check_relation_arguments, doc_targets

# The widest span when the suggester has no limit of its own (it sizes the width embedding).
DEFAULT_MAX_SPAN_WIDTH = 10


class SpanRelationExtractor(TrainablePipe):
    def __init__(self, vocab: Vocab, model: Model, name: str, *, suggester: Callable, spans_key: str,
                 neg_entity_count: int, neg_relation_count: int, neg_per_gold: int,
                 entities_from: Optional[str] = None, write_ents: bool = False,
                 scorer: Optional[Callable] = None) -> None:
        problems = []
        if not isinstance(spans_key, str) or not spans_key:
            problems.append(f"spans_key must be a non-empty string, got {spans_key!r}")
        for key, value in (("neg_entity_count", neg_entity_count), ("neg_relation_count", neg_relation_count),
                           ("neg_per_gold", neg_per_gold)):
            if value < 0:
                problems.append(f"{key} must be >= 0, got {value}")
        if entities_from is not None and (not isinstance(entities_from, str) or not entities_from):
            problems.append(f"entities_from must be 'ents' or a span group key, got {entities_from!r}")
        if entities_from is not None and entities_from == spans_key:
            problems.append(f"entities_from and spans_key are both {spans_key!r}: the gold entities to train on "
                            "and the entities another component finds need two places")
        if problems:
            raise ValueError(f"Invalid config for component '{name}': " + "; ".join(problems))
        self.vocab = vocab
        self.model = model
        self.name = name
        self.suggester = suggester
        self.scorer = scorer
        # Labels, the token width and the widest span shape the torch net: set at
        # initialize, saved with the pipe, and set on the net before its weights load.
        self.cfg = {
            "spans_key": spans_key, "neg_entity_count": neg_entity_count, "neg_relation_count": neg_relation_count,
            "neg_per_gold": neg_per_gold, "entities_from": entities_from, "write_ents": write_ents,
            "entity_labels": [], "relation_labels": [], "token_width": None, "max_span_width": None,
        }
        self.n_dropped_pairs = 0
        self.target_stats = TargetStats()
        self._labels = LabelMaps([], [])
        self._tags: Optional[TagScheme] = None
        self._rng = numpy.random.default_rng(0)

    # -- labels --------------------------------------------------------------
    @property
    def spans_key(self) -> str:
        return self.cfg["spans_key"]

    @property
    def head(self) -> Head:
        """The model's head: its decoding settings can be changed on a trained pipe."""
        return self.model.attrs["head"]

    @property
    def token_stack(self):
        """The model's token stack (``spacy_jere.LabelAttentionStack.v1``), or None."""
        return self.model.attrs.get("token_stack")

    @property
    def tags(self) -> Tuple[str, ...]:
        """The token stack's tag vocabulary (empty without a stack)."""
        return tuple(self.cfg.get("tags", ()))

    @property
    def tagged_key(self) -> str:
        """The span group of the entities the token stack's tags spell."""
        return f"{self.spans_key}_tagged"

    @property
    def entity_labels(self) -> Tuple[str, ...]:
        return tuple(self.cfg["entity_labels"])

    @property
    def relation_labels(self) -> Tuple[str, ...]:
        return tuple(self.cfg["relation_labels"])

    @property
    def labels(self) -> Tuple[str, ...]:
        return self.entity_labels + self.relation_labels

    @property
    def label_data(self) -> Dict[str, List[str]]:
        return {"entities": list(self.entity_labels), "relations": list(self.relation_labels)}

    # -- setup ---------------------------------------------------------------
    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None,
                   labels: Optional[Dict[str, List[str]]] = None) -> None:
        validate_get_examples(get_examples, "SpanRelationExtractor.initialize")
        examples = list(get_examples())
        entity_labels, relation_labels = set(), set()
        for i, eg in enumerate(examples):
            check_relation_arguments(eg.reference, self.spans_key, where=f"training example {i}")
            entity_labels.update(span.label_ for span in eg.reference.spans.get(self.spans_key, []))
            relation_labels.update(rel.label for rel in get_relations(eg.reference))
        if labels is not None:
            entity_labels, relation_labels = set(labels["entities"]), set(labels["relations"])
        if not entity_labels:
            raise ValueError(
                f"Component '{self.name}' found no entities in doc.spans['{self.spans_key}'] "
                "of its training examples: nothing to learn. Is spans_key right?"
            )
        if not relation_labels:
            warnings.warn(f"[{self.name}] The training examples have no relations (doc._.relations): only "
                          "entities will be learned, and no relations predicted.", stacklevel=2)
        self.cfg["entity_labels"] = sorted(entity_labels)
        self.cfg["relation_labels"] = sorted(relation_labels)
        if self.token_stack is not None:
            # BIO, or the extended BIO when the training data have two-fold overlaps.
            scheme = choose_scheme(self.cfg["entity_labels"], [eg.reference for eg in examples], self.spans_key)
            self.cfg["tags"] = scheme.tags
        self.cfg["max_span_width"] = getattr(self.suggester, "max_width", None) or DEFAULT_MAX_SPAN_WIDTH
        self.cfg["token_width"] = None
        # Seeded from numpy's global state, which spacy train sets from [training] seed.
        self._rng = numpy.random.default_rng(numpy.random.randint(2**31))
        self._set_dims()
        self.model.initialize(X=[eg.predicted for eg in islice(examples, 10)])
        self.cfg["token_width"] = self.model.get_ref("net").get_dim("nI")

    def _set_dims(self) -> None:
        """The net's shape from cfg; the token width only once known (else inferred)."""
        self._labels = LabelMaps(self.entity_labels, self.relation_labels)
        net = self.model.get_ref("net")
        dims = {
            "n_entity_classes": len(self.entity_labels) + 1,
            "n_relation_labels": len(self.relation_labels),
            "max_span_width": self.cfg["max_span_width"],
            "nI": self.cfg["token_width"],
        }
        if self.token_stack is not None and self.cfg.get("tags"):
            self._tags = TagScheme(self.cfg["tags"])
            dims["n_tags"] = len(self._tags)
        for name, value in dims.items():
            if value is not None:
                net.set_dim(name, value, force=True)

    # -- inference -----------------------------------------------------------
    def predict(self, docs: Iterable[Doc]) -> Tuple[CandidateBatch, Optional[dict]]:
        docs = list(docs)
        source = self.cfg["entities_from"]
        if source:
            rows, types, spans = given_candidates(docs, source, self._labels.entity_ids)
            candidates = inference_candidates(docs, rows)
            candidates.given_types = numpy.concatenate(types).astype("int64")
            candidates.given_spans = [span for doc_spans in spans for span in doc_spans]
        else:
            candidates = inference_candidates(docs, self.suggester(docs))
        if len(candidates.spans) == 0:
            return candidates, None
        return candidates, self.model.predict((docs, candidates))

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        candidates, output = scores
        docs = list(docs)
        if output is None:
            for doc in docs:
                self._write_entities(doc, [], [])
                set_relations(doc, [])
                if self.token_stack is not None:
                    write_tags(doc, self.tagged_key, self._tags, None, None)
            return
        if "token_tags" in output:
            for i, doc in enumerate(docs):
                lo, hi = candidates.token_offsets[i], candidates.token_offsets[i + 1]
                write_tags(doc, self.tagged_key, self._tags, output["token_tags"][lo:hi],
                           candidates.token_sentence_ids[lo:hi])
        if output["n_dropped_pairs"]:
            self.n_dropped_pairs += int(output["n_dropped_pairs"])
            # One message text, so Python shows it once; the running count is kept.
            warnings.warn(
                f"[{self.name}] Some docs had more than max_pairs={self.head.max_pairs} candidate pairs; the "
                "pairs of their least confident entities were not classified. The count is in the pipe's "
                "n_dropped_pairs; raise the head's max_pairs to keep them.",
                stacklevel=2,
            )
        decoded = decoded_docs(docs, candidates, output, self.entity_labels, self.relation_labels)
        for doc, (entities, confidences, relations) in zip(docs, decoded, strict=True):
            self._write_entities(doc, entities, confidences)
            set_relations(doc, relations)

    def _write_entities(self, doc: Doc, spans: List[Span], scores: List[float]) -> None:
        if not self.cfg["entities_from"]:  # else another component's entities: left as they are
            write_entities(doc, self.spans_key, spans, scores, self.cfg["write_ents"])

    def score(self, examples: Iterable[Example], **kwargs) -> Dict:
        """Entity and relation P/R/F; with ``entities_from``, the entities scored are the
        other component's."""
        validate_examples(examples, "SpanRelationExtractor.score")
        if self.scorer is None:
            return {}
        return self.scorer(examples, spans_key=self.spans_key, predicted_entities_from=self.cfg["entities_from"],
                           **kwargs)

    # -- training ------------------------------------------------------------
    def update(self, examples: Iterable[Example], *, drop: float = 0.0, sgd: Optional[Optimizer] = None,
               losses: Optional[Dict[str, float]] = None) -> Dict[str, float]:
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "SpanRelationExtractor.update")
        docs = [eg.predicted for eg in examples]
        if sum(len(doc) for doc in docs) == 0:
            return losses
        targets = [doc_targets(eg, self.spans_key, self._labels, f"update example {i}", self.target_stats)
                   for i, eg in enumerate(examples)]
        self._warn_left_out()
        # With entities from another component the candidates are the gold entities alone.
        suggested = ([numpy.zeros((0, 2), "int64") for _ in docs] if self.cfg["entities_from"]
                     else self.suggester(docs))
        # A pruner ranks every suggested span, as at inference: no negative sampling.
        pruning = self.model.attrs.get("pruner") is not None
        candidates = training_candidates(
            docs, suggested, targets,
            neg_entity_count=None if pruning else self.cfg["neg_entity_count"],
            neg_relation_count=self.cfg["neg_relation_count"],
            rng=self._rng, n_relation_labels=len(self.relation_labels), neg_per_gold=self.cfg["neg_per_gold"],
        )
        if len(candidates.spans) == 0:
            return losses
        if self.token_stack is not None:
            candidates.token_tags, left_out = batch_tags(self._tags, docs, targets, self.entity_labels)
            if left_out:
                self.target_stats.untagged_entities += left_out
                self._warn_left_out()
        set_dropout_rate(self.model, drop)
        output, backprop = self.model.begin_update((docs, candidates))
        loss, gradients = self.get_loss(examples, (candidates, output))
        backprop(gradients)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores) -> Tuple[float, Dict]:
        """The head's loss (and the span pruner's and the token stack's) and its gradients
        for the net's outputs."""
        candidates, output = scores
        ops = self.model.ops
        tag_targets = None if candidates.token_tags is None else ops.asarray(candidates.token_tags, dtype="int64")
        result = model_loss(self.head, self.model.attrs.get("pruner"), ops, output,
                            ops.asarray(candidates.span_targets, dtype="int64"),
                            ops.asarray(candidates.pair_targets, dtype="float32"),
                            token_stack=self.token_stack, tag_targets=tag_targets)
        if self.cfg["entities_from"]:  # entities are not ours to learn: no entity loss
            result.gradients["span_logits"] = ops.alloc(output["span_logits"].shape, dtype="float32")
            return result.total - result.terms.get("entity", 0.0), result.gradients
        return result.total, result.gradients

    def finish_update(self, sgd: Optimizer) -> None:
        finish_update(self.model, sgd)

    def _warn_left_out(self) -> None:
        if self.target_stats.any():
            warnings.warn(f"[{self.name}] {TargetStats.MESSAGE}", stacklevel=2)

    # -- serialization -------------------------------------------------------
    # The net's shape depends on cfg (labels, token width, widest span), so cfg is read
    # and the net built before the weights load. Decoding settings live in the model's
    # head (the pipeline's config), so they can be changed at load time.
    def _load_cfg(self, saved: dict) -> None:
        self.cfg.update(saved)
        if self.cfg.get("token_width"):
            self._set_dims()
            self.model.get_ref("net").initialize()

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        return util.to_bytes({"cfg": lambda: srsly.json_dumps(self.cfg), "model": self.model.to_bytes,
                              "vocab": lambda: self.vocab.to_bytes(exclude=exclude)}, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude=tuple()):
        util.from_bytes(bytes_data, {"cfg": lambda b: self._load_cfg(srsly.json_loads(b)),
                                     "model": self.model.from_bytes,
                                     "vocab": lambda b: self.vocab.from_bytes(b, exclude=exclude)}, exclude)
        return self

    def to_disk(self, path, *, exclude=tuple()) -> None:
        util.to_disk(path, {"cfg": lambda p: srsly.write_json(p, self.cfg), "model": self.model.to_disk,
                            "vocab": lambda p: self.vocab.to_disk(p, exclude=exclude)}, exclude)

    def from_disk(self, path, *, exclude=tuple()):
        util.from_disk(path, {"cfg": lambda p: self._load_cfg(srsly.read_json(p)), "model": self.model.from_disk,
                              "vocab": lambda p: self.vocab.from_disk(p, exclude=exclude)}, exclude)
        return self
