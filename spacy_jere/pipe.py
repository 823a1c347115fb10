"""The ``span_relation`` pipe: joint entity and relation extraction (SpERT family)."""
import warnings
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
import srsly
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Model, Optimizer

from .candidates import (
    CandidateBatch,
    DocTargets,
    inference_candidates,
    training_candidates,
)
from .model import ModelOutput, SpanRelationModel
from .objectives import objective_for
from .relations import Relation, get_relations, set_relations

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_jere.SpanRelationModel.v1"

[model.tok2vec]
@architectures = "spacy.HashEmbedCNN.v2"
pretrained_vectors = null
width = 96
depth = 4
embed_size = 2000
window_size = 1
maxout_pieces = 3
subword_features = true

[model.span_encoder]
@architectures = "spacy_jere.MaxPoolSpanEncoder.v1"
width_embedding_size = 25

[model.relation_encoder]
@architectures = "spacy_jere.SpERTRelationEncoder.v1"

[model.span_classifier]
@architectures = "spacy_jere.LinearClassifier.v1"
dropout = 0.1

[model.relation_classifier]
@architectures = "spacy_jere.LinearClassifier.v1"
dropout = 0.1
"""
DEFAULT_MODEL = util.load_config_from_str(DEFAULT_MODEL_CONFIG)["model"]
ENTITY_OVERLAP = ("allow", "flat")
RELATION_LABEL_LOSS = ("sum", "mean")
DECODING_SETTINGS = ("relation_threshold", "max_pairs", "entity_overlap")


@Language.factory(
    "span_relation",
    assigns=["doc.spans", "doc._.relations"],
    default_config={
        "model": DEFAULT_MODEL,
        "spans_key": "entities",
        "max_span_width": 10,
        "neg_entity_count": 100,
        "neg_relation_count": 100,
        "neg_per_gold": 0,
        "relation_threshold": 0.4,
        "max_pairs": 1000,
        "entity_overlap": "allow",
        "entity_loss_weight": 1.0,
        "relation_loss_weight": 1.0,
        "relation_label_loss": "sum",
        "scorer": {"@scorers": "spacy_jere.span_relation_scorer.v1"},
    },
    default_score_weights={
        "ent_f": 0.5,
        "rel_f": 0.0,
        "rel_strict_f": 0.5,
        "ent_p": None,
        "ent_r": None,
        "rel_strict_p": None,
        "rel_strict_r": None,
    },
)
def make_span_relation(
    nlp: Language,
    name: str,
    model: Model,
    spans_key: str,
    max_span_width: int,
    neg_entity_count: int,
    neg_relation_count: int,
    neg_per_gold: int,
    relation_threshold: float,
    max_pairs: int,
    entity_overlap: str,
    entity_loss_weight: float,
    relation_loss_weight: float,
    relation_label_loss: str,
    scorer: Optional[Callable],
) -> "SpanRelationExtractor":
    """Entities (nested and overlapping) into ``doc.spans[spans_key]``, typed and
    directed relations between them into ``doc._.relations``.

    max_span_width: longest entity, in tokens, considered at inference.
    neg_entity_count / neg_relation_count: negatives sampled per doc in training.
    neg_per_gold: if > 0, sample this many negatives per gold item instead (paper
        001's dynamic sampling, k = 30 there).
    relation_threshold: a pair gets every relation label whose probability exceeds it.
    max_pairs: cap on candidate pairs per doc at inference (0: no cap); the pairs of
        the most confident entities are kept and the rest are counted and warned about.
    entity_overlap: "allow" (SpERT: nested and overlapping entities) or "flat" (of
        overlapping predicted entities keep the most confident; relations are then
        predicted between the kept ones). A decoding choice: it can be changed on a
        trained pipeline. For corpora without nested entities (CoNLL04, SciERC).
    relation_label_loss: SpERT's objective, a pair's binary cross-entropies over the
        relation labels: "sum" (ours) or "mean" (SpERT's code; the relation loss is then
        1/labels as large against the entity loss, which matters for the shared encoder).
    """
    return SpanRelationExtractor(
        nlp.vocab,
        model,
        name,
        spans_key=spans_key,
        max_span_width=max_span_width,
        neg_entity_count=neg_entity_count,
        neg_relation_count=neg_relation_count,
        neg_per_gold=neg_per_gold,
        relation_threshold=relation_threshold,
        max_pairs=max_pairs,
        entity_overlap=entity_overlap,
        entity_loss_weight=entity_loss_weight,
        relation_loss_weight=relation_loss_weight,
        relation_label_loss=relation_label_loss,
        scorer=scorer,
    )


def _check_settings(name: str, **settings) -> None:
    problems = []
    if not isinstance(settings["spans_key"], str) or not settings["spans_key"]:
        problems.append(f"spans_key must be a non-empty string, got {settings['spans_key']!r}")
    for key in ("max_span_width",):
        if settings[key] < 1:
            problems.append(f"{key} must be a positive number of tokens, got {settings[key]}")
    for key in ("neg_entity_count", "neg_relation_count", "neg_per_gold", "max_pairs"):
        if settings[key] < 0:
            problems.append(f"{key} must be >= 0, got {settings[key]}")
    if not 0.0 <= settings["relation_threshold"] <= 1.0:
        problems.append(f"relation_threshold must be in [0, 1], got {settings['relation_threshold']}")
    if settings["entity_overlap"] not in ENTITY_OVERLAP:
        problems.append(f"entity_overlap must be one of {', '.join(ENTITY_OVERLAP)}, got {settings['entity_overlap']!r}")
    if settings["relation_label_loss"] not in RELATION_LABEL_LOSS:
        problems.append(
            f"relation_label_loss must be one of {', '.join(RELATION_LABEL_LOSS)}, got {settings['relation_label_loss']!r}"
        )
    for key in ("entity_loss_weight", "relation_loss_weight"):
        if settings[key] < 0:
            problems.append(f"{key} must be >= 0, got {settings[key]}")
    if problems:
        raise ValueError(f"Invalid config for component '{name}': " + "; ".join(problems))


class SpanRelationExtractor(TrainablePipe):
    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "span_relation",
        *,
        spans_key: str = "entities",
        max_span_width: int = 10,
        neg_entity_count: int = 100,
        neg_relation_count: int = 100,
        neg_per_gold: int = 0,
        relation_threshold: float = 0.4,
        max_pairs: int = 1000,
        entity_overlap: str = "allow",
        entity_loss_weight: float = 1.0,
        relation_loss_weight: float = 1.0,
        relation_label_loss: str = "sum",
        scorer: Optional[Callable] = None,
    ) -> None:
        settings = {
            "spans_key": spans_key,
            "max_span_width": max_span_width,
            "neg_entity_count": neg_entity_count,
            "neg_relation_count": neg_relation_count,
            "neg_per_gold": neg_per_gold,
            "relation_threshold": relation_threshold,
            "max_pairs": max_pairs,
            "entity_overlap": entity_overlap,
            "entity_loss_weight": entity_loss_weight,
            "relation_loss_weight": relation_loss_weight,
            "relation_label_loss": relation_label_loss,
        }
        _check_settings(name, **settings)
        if relation_label_loss == "mean" and model.attrs.get("two_phase", False):
            raise ValueError(
                f"Invalid config for component '{name}': relation_label_loss = 'mean' averages SpERT's "
                "per-label relation losses; the two_phase model has none (set it to 'sum')"
            )
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        # Labels and the token width are set by initialize (and saved), and decide
        # the shape of the torch net.
        self.cfg = {**settings, "entity_labels": [], "relation_labels": [], "token_width": None}
        self.n_dropped_pairs = 0
        self._rng = numpy.random.default_rng(0)

    # -- labels --------------------------------------------------------------
    @property
    def spans_key(self) -> str:
        return self.cfg["spans_key"]

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
    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Dict[str, List[str]]] = None,
    ) -> None:
        validate_get_examples(get_examples, "SpanRelationExtractor.initialize")
        examples = list(get_examples())
        entity_labels, relation_labels = set(), set()
        for i, eg in enumerate(examples):
            self._check_gold(eg.reference, where=f"training example {i}")
            entity_labels.update(span.label_ for span in eg.reference.spans.get(self.spans_key, []))
            relation_labels.update(rel.label for rel in get_relations(eg.reference))
        if labels is not None:
            entity_labels, relation_labels = set(labels["entities"]), set(labels["relations"])
        if not entity_labels:
            raise ValueError(
                f"Component '{self.name}' found no entities in doc.spans['{self.spans_key}'] "
                "of its training examples: nothing to learn. Is spans_key right?"
            )
        self.cfg["entity_labels"] = sorted(entity_labels)
        self.cfg["relation_labels"] = sorted(relation_labels)
        # Seeded from numpy's global state, which spacy train sets from [training] seed.
        self._rng = numpy.random.default_rng(numpy.random.randint(2**31))
        sample = [eg.predicted for eg in islice(examples, 10)]
        self.model.tok2vec.initialize(X=sample)
        self.cfg["token_width"] = self._token_width(sample)
        self._build_net()

    def _token_width(self, sample_docs: List[Doc]) -> int:
        tok2vec = self.model.tok2vec
        if tok2vec.has_dim("nO") and tok2vec.get_dim("nO"):
            return int(tok2vec.get_dim("nO"))
        for node in tok2vec.walk():
            if node.has_dim("nO") and node.get_dim("nO"):
                return int(node.get_dim("nO"))
        vectors = tok2vec.predict([doc for doc in sample_docs if len(doc)][:1])
        return int(vectors[0].shape[1])

    def _build_net(self) -> None:
        model: SpanRelationModel = self.model
        model.build_net(
            token_width=self.cfg["token_width"],
            n_entity_classes=len(self.cfg["entity_labels"]) + 1,
            n_relation_labels=len(self.cfg["relation_labels"]),
            max_span_width=self.cfg["max_span_width"],
        )

    def _check_gold(self, doc: Doc, where: str) -> None:
        """Every relation argument must be one of the doc's gold entities."""
        gold = {(s.start, s.end, s.label_) for s in doc.spans.get(self.spans_key, [])}
        for j, rel in enumerate(get_relations(doc)):
            for role, span in (("head", rel.head), ("tail", rel.tail)):
                if (span.start, span.end, span.label_) not in gold:
                    raise ValueError(
                        f"{where}: relation {j} ({rel.label}) has {role} "
                        f"{span.text!r} [{span.start}:{span.end}] {span.label_!r}, which is "
                        f"not an entity in doc.spans['{self.spans_key}']"
                    )

    # -- inference -----------------------------------------------------------
    def predict(self, docs: Iterable[Doc]) -> Tuple[CandidateBatch, Optional[ModelOutput]]:
        docs = list(docs)
        candidates = inference_candidates(docs, self.cfg["max_span_width"])
        candidates.max_pairs = self.cfg["max_pairs"]
        candidates.flat_entities = self.cfg.get("entity_overlap", "allow") == "flat"
        if len(candidates.spans) == 0:
            return candidates, None
        return candidates, self.model.predict((docs, candidates))

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        candidates, output = scores
        docs = list(docs)
        if output is None:
            for doc in docs:
                doc.spans[self.spans_key] = SpanGroup(doc, name=self.spans_key, attrs={"scores": []})
                set_relations(doc, [])
            return
        decoded = self.objective.decode(
            self.model.ops, output.span_scores, output.relation_scores, self.cfg["relation_threshold"]
        )
        span_labels, span_conf = decoded.span_labels, decoded.span_scores
        if output.is_entity is not None:  # the net's decision, after any overlap filtering
            span_labels = numpy.where(output.is_entity, span_labels, 0)
        pair_docs = candidates.span_docs[output.pairs[:, 0]] if len(output.pairs) else numpy.zeros((0,), "int64")
        hit_docs = pair_docs[decoded.hit_pairs]
        if output.n_dropped_pairs:
            self.n_dropped_pairs += output.n_dropped_pairs
            # One message text, so Python shows it once; the running count is kept.
            warnings.warn(
                f"[{self.name}] Some docs had more than max_pairs={self.cfg['max_pairs']} "
                "candidate pairs; the pairs of their least confident entities were not "
                "classified. The count is in the pipe's n_dropped_pairs; raise max_pairs "
                "to keep them."
            )
        entity_labels, relation_labels = self.entity_labels, self.relation_labels
        for i, doc in enumerate(docs):
            lo, hi = candidates.doc_spans(i)
            offset = candidates.token_offsets[i]
            rows = lo + numpy.flatnonzero(span_labels[lo:hi] > 0)
            entities = {}
            for row in rows:
                start, end = candidates.spans[row] - offset
                entities[row] = Span(doc, int(start), int(end), label=entity_labels[span_labels[row] - 1])
            doc.spans[self.spans_key] = SpanGroup(
                doc,
                name=self.spans_key,
                spans=list(entities.values()),
                attrs={"scores": [float(span_conf[row]) for row in rows]},
            )
            relations = []
            in_doc = hit_docs == i
            for pair, label, score in zip(decoded.hit_pairs[in_doc], decoded.hit_labels[in_doc], decoded.hit_scores[in_doc]):
                head, tail = output.pairs[pair]
                relations.append(Relation(entities[head], entities[tail], relation_labels[label], float(score)))
            set_relations(doc, relations)

    # -- training ------------------------------------------------------------
    def _targets(self, eg: Example, where: str) -> DocTargets:
        """Gold entities and relations of an example, in predicted-doc tokens."""
        ref = eg.reference
        label_ids = {label: i + 1 for i, label in enumerate(self.entity_labels)}
        rel_ids = {label: i for i, label in enumerate(self.relation_labels)}
        same_tokens = len(eg.predicted) == len(ref) and numpy.array_equal(
            eg.predicted.to_array("ORTH"), ref.to_array("ORTH")
        )
        index: Dict[Tuple[int, int], int] = {}
        spans, span_labels = [], []
        boundaries: Dict[Tuple[int, int], Optional[Tuple[int, int]]] = {}
        for span in ref.spans.get(self.spans_key, []):
            if span.label_ not in label_ids:
                raise ValueError(f"{where}: entity label {span.label_!r} was not seen at initialize; known: {list(label_ids)}")
            if same_tokens:
                aligned = (span.start, span.end)
            else:
                found = eg.get_aligned_spans_y2x([span], allow_overlap=True)
                aligned = (found[0].start, found[0].end) if found else None
            boundaries[(span.start, span.end)] = aligned
            if aligned is None or aligned in index:
                continue
            index[aligned] = len(spans)
            spans.append(aligned)
            span_labels.append(label_ids[span.label_])
        pair_index: Dict[Tuple[int, int], int] = {}
        pair_labels: List[numpy.ndarray] = []
        for rel in get_relations(ref):
            if rel.label not in rel_ids:
                raise ValueError(f"{where}: relation label {rel.label!r} was not seen at initialize; known: {list(rel_ids)}")
            head = boundaries.get((rel.head.start, rel.head.end))
            tail = boundaries.get((rel.tail.start, rel.tail.end))
            if head is None or tail is None:
                continue
            key = (index[head], index[tail])
            if key not in pair_index:
                pair_index[key] = len(pair_labels)
                pair_labels.append(numpy.zeros((len(rel_ids),), "float32"))
            pair_labels[pair_index[key]][rel_ids[rel.label]] = 1.0
        return DocTargets(
            spans=numpy.array(spans, dtype="int64").reshape(-1, 2),
            span_labels=numpy.array(span_labels, dtype="int64"),
            pairs=numpy.array(list(pair_index), dtype="int64").reshape(-1, 2),
            pair_labels=numpy.array(pair_labels, dtype="float32").reshape(len(pair_labels), len(rel_ids)),
        )

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "SpanRelationExtractor.update")
        docs = [eg.predicted for eg in examples]
        if sum(len(doc) for doc in docs) == 0:
            return losses
        targets = [self._targets(eg, where=f"update example {i}") for i, eg in enumerate(examples)]
        candidates = training_candidates(
            docs,
            targets,
            max_width=self.cfg["max_span_width"],
            neg_entity_count=self.cfg["neg_entity_count"],
            neg_relation_count=self.cfg["neg_relation_count"],
            rng=self._rng,
            n_relation_labels=len(self.relation_labels),
            neg_per_gold=self.cfg["neg_per_gold"],
        )
        if len(candidates.spans) == 0:
            return losses
        output, backprop = self.model.begin_update((docs, candidates))
        loss, gradients = self.get_loss(examples, (candidates, output))
        backprop(gradients)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores) -> Tuple[float, Tuple]:
        """The objective's loss (SpERT's or the two-phase one, see ``objectives``) and
        its gradients for the span and relation logits."""
        candidates, output = scores
        ops = self.model.ops
        relation_weight = self.cfg["relation_loss_weight"]
        if self.cfg.get("relation_label_loss", "sum") == "mean":
            relation_weight /= max(len(self.cfg["relation_labels"]), 1)
        loss, (d_span, d_rel) = self.objective.loss(
            ops,
            output.span_scores,
            ops.asarray(candidates.span_targets, dtype="int64"),
            output.relation_scores,
            ops.asarray(candidates.pair_targets, dtype="float32"),
            self.cfg["entity_loss_weight"],
            relation_weight,
        )
        return loss, (d_span.astype("float32"), d_rel.astype("float32"))

    @property
    def objective(self):
        return objective_for(self.model.attrs.get("two_phase", False))

    # -- serialization -------------------------------------------------------
    # The torch net's shape depends on cfg (labels, token width), so cfg is read and
    # the net built before the weights are loaded. Decoding settings come from the
    # pipeline's config, not the saved cfg, so they can be changed at load time.
    def _load_cfg(self, saved: dict) -> None:
        for key in DECODING_SETTINGS:
            saved.pop(key, None)
        self.cfg.update(saved)

    def from_bytes(self, bytes_data: bytes, *, exclude=tuple()):
        msg = srsly.msgpack_loads(bytes_data)
        if "cfg" not in exclude and "cfg" in msg:
            self._load_cfg(srsly.json_loads(msg["cfg"]))
        if "vocab" not in exclude and "vocab" in msg:
            self.vocab.from_bytes(msg["vocab"], exclude=exclude)
        if self.cfg.get("token_width"):
            self._build_net()
        if "model" not in exclude and "model" in msg:
            self.model.from_bytes(msg["model"])
        return self

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        msg = {}
        if "cfg" not in exclude:
            msg["cfg"] = srsly.json_dumps(self.cfg)
        if "vocab" not in exclude:
            msg["vocab"] = self.vocab.to_bytes(exclude=exclude)
        if "model" not in exclude:
            msg["model"] = self.model.to_bytes()
        return srsly.msgpack_dumps(msg)

    def from_disk(self, path, *, exclude=tuple()):
        path = Path(path)
        if "cfg" not in exclude and (path / "cfg").exists():
            self._load_cfg(srsly.read_json(path / "cfg"))
        if "vocab" not in exclude and (path / "vocab").exists():
            self.vocab.from_disk(path / "vocab", exclude=exclude)
        if self.cfg.get("token_width"):
            self._build_net()
        if "model" not in exclude and (path / "model").exists():
            self.model.from_bytes((path / "model").read_bytes())
        return self
