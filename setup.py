from setuptools import find_packages, setup

setup(
    name="spacy-jere",
    version="0.2.0",
    description="Joint entity and relation extraction for spaCy (SpERT family)",
    long_description=open("README.md", encoding="utf8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    packages=find_packages(include=["spacy_jere", "spacy_jere.*"]),
    python_requires=">=3.10",
    install_requires=[
        "spacy>=3.8.0,<3.9.0",
        "spacy-transformers>=1.3.5,<1.4.0",
        "thinc>=8.3.0,<8.4.0",
        # torch 2.13.0 is what the setup script installs first; the range keeps
        # pip from swapping it for a CUDA build on machines that already have it.
        "torch>=2.1,<2.15",
        "typer>=0.9,<1.0",
        "numpy>=1.23",
        "srsly>=2.4",
    ],
    extras_require={
        "cuda12x": ["cupy-cuda12x>=12.0"],
        "ray": ["ray[data]>=2.9", "pyarrow>=14"],
        "parquet": ["pyarrow>=14"],
        "test": ["pytest>=7", "ruff==0.17.6", "pyarrow>=14", "ray[data]>=2.9"],
    },
    entry_points={
        "spacy_factories": [
            "span_relation = spacy_jere.factory:make_span_relation",
            "long_sentence_splitter = spacy_jere.sentence_limit:make_long_sentence_splitter",
        ],
        "spacy_architectures": [
            "spacy_jere.SpanRelationModel.v1 = spacy_jere.architectures:span_relation_model",
            "spacy_jere.SpERTHead.v1 = spacy_jere.heads.spert:spert_head",
            "spacy_jere.SpanPruner.v1 = spacy_jere.layers.pruning:span_pruner",
            "spacy_jere.AttentionContribution.v1 = spacy_jere.layers.attention_contribution:attention_contribution",
            "spacy_jere.AttentionTransformerModel.v1 = spacy_jere.transformer_attentions:attention_transformer_model",
            "spacy_jere.PositionMarkers.v1 = spacy_jere.layers.position_markers:position_markers",
            "spacy_jere.MarkerTransformerModel.v1 = spacy_jere.transformer_markers:marker_transformer_model",
            "spacy_jere.LabelAttentionStack.v1 = spacy_jere.layers.label_attention:label_attention_stack",
            "spacy_jere.TwoPhaseHead.v1 = spacy_jere.heads.two_phase:two_phase_head",
            "spacy_jere.MaxPoolSpanEncoder.v1 = spacy_jere.architectures:max_pool_span_encoder",
            "spacy_jere.AttentionSpanEncoder.v1 = spacy_jere.architectures:attention_span_encoder",
            "spacy_jere.SpERTRelationEncoder.v1 = spacy_jere.architectures:spert_relation_encoder",
            "spacy_jere.AttentionRelationEncoder.v1 = spacy_jere.architectures:attention_relation_encoder",
            "spacy_jere.LinearClassifier.v1 = spacy_jere.architectures:linear_classifier",
            "spacy_jere.MLPClassifier.v1 = spacy_jere.architectures:mlp_classifier",
        ],
        "spacy_misc": [
            "spacy_jere.encoder.v1 = spacy_jere.transformer_name:encoder_name",
            "spacy_jere.sentence_ngram_suggester.v1 = spacy_jere.suggesters:build_sentence_ngram_suggester",
        ],
        "spacy_span_getters": ["spacy_jere.sentence_windows.v1 = spacy_jere.windows:configure_sentence_windows"],
        "spacy_augmenters": ["spacy_jere.entities_to_ents.v1 = spacy_jere.entity_sources:entities_to_ents"],
        "thinc_optimizers": ["spacy_jere.AdamW.v1 = spacy_jere.optimizers:spert_adamw"],
        "thinc_schedules": ["spacy_jere.warmup_linear_epochs.v1 = spacy_jere.schedules:warmup_linear_epochs"],
        "spacy_scorers": [
            "spacy_jere.span_relation_scorer.v1 = spacy_jere.scoring:make_span_relation_scorer"
        ],
    },
)
