"""configs/*.cfg are generated from configs/base.cfg, configs/variants.yml and the rows of
configs/experiments.yml (spacy_jere.experiments.configs); these tests need no model code."""
import copy

import pytest
from confection import Config

from spacy_jere.experiments import configs
from spacy_jere.experiments.configs import ConfigSourceError, apply, parse, to_text

SOURCES = configs.load_sources()
SPAN_RELATION_SETTINGS = {"factory", "spans_key", "neg_entity_count", "neg_relation_count", "neg_per_gold",
                          "suggester", "scorer", "model", "entities_from", "write_ents"}


@pytest.mark.parametrize("name", sorted(SOURCES["variants"]))
def test_generated_config_is_up_to_date(name):
    shipped = (configs.CONFIGS / f"{name}.cfg").read_text()
    assert shipped == configs.config_text(name, SOURCES), (
        f"configs/{name}.cfg is out of date with configs/base.cfg, configs/variants.yml or "
        f"configs/experiments.yml: run `{configs.EXPORT_CONFIGS}`")


def test_every_config_but_the_base_is_generated():
    assert configs.unlisted_configs(SOURCES) == []


def _all_configs():
    yield from ((f"config {name}", Config().from_str(configs.config_text(name, SOURCES), interpolate=False))
                for name in SOURCES["variants"])
    yield from ((f"row {row}", configs.row_config(row, SOURCES)) for row in SOURCES["rows"])


def test_configs_and_rows_have_the_span_relation_settings_in_their_new_places():
    for where, config in _all_configs():
        component = config["components"]["span_relation"]
        assert set(component) <= SPAN_RELATION_SETTINGS, where
        assert component["suggester"]["@misc"] == "spacy_jere.sentence_ngram_suggester.v1", where
        model = component["model"]
        assert not {"two_phase", "span_classifier", "relation_classifier"} & set(model), where
        assert "phase_two_features" not in model["relation_encoder"], where
        head = model["head"]
        assert head["@architectures"] in ("spacy_jere.SpERTHead.v1", "spacy_jere.TwoPhaseHead.v1"), where
        assert {"span_classifier", "relation_classifier", "entity_overlap"} <= set(head), where
        if head["@architectures"] == "spacy_jere.TwoPhaseHead.v1":
            assert "relation_label_loss" not in head, where
        else:
            assert "phase_two_features" not in head, where


def _apply_to_dict(config: dict, spec: dict) -> dict:
    """The settings' meaning on a config's data: a dotted key sets a value, a mapping
    replaces the whole section, delete removes."""
    config = copy.deepcopy(config)
    for dotted, value in (spec.get("overrides") or {}).items():
        *path, last = dotted.split(".")
        node = config
        for key in path:
            node = node[key]
        node[last] = copy.deepcopy(value)
    for dotted in spec.get("delete") or ():
        *path, last = dotted.split(".")
        node = config
        for key in path:
            node = node[key]
        del node[last]
    return config


def _data(text: str) -> dict:
    return dict(Config().from_str(text, interpolate=False))


def test_text_generation_means_what_the_settings_say():
    """Applied to the text (to keep comments and order), the settings of every variant
    and row give the same config as applied to the config's data."""
    base = _data(configs.BASE.read_text())
    for name, spec in SOURCES["variants"].items():
        if "row" not in spec:
            start = base if spec.get("base", "base") == "base" else _data(configs.config_text(spec["base"], SOURCES))
            assert _data(configs.config_text(name, SOURCES)) == _apply_to_dict(start, spec), name
    for row, spec in SOURCES["rows"].items():
        start = _data(configs.config_text(spec["base"], SOURCES))
        assert _data(configs.row_text(row, SOURCES)) == _apply_to_dict(start, spec), row


BASE_TEXT = """# preamble
[a]
x = 1
# about y
y = 2

[a.b]
z = "s"

[a.b.c]
w = true

[a.d]
inline = {"k":1}

[e]
v = 0.1
"""


def _applied(spec: dict) -> str:
    return to_text([], apply(parse(BASE_TEXT)[1], spec, "test"))


def test_a_changed_value_drops_the_comment_above_it_an_equal_one_keeps_it():
    assert "# about y\ny = 3" not in _applied({"overrides": {"a.y": 3}})
    assert "\ny = 3\n" in _applied({"overrides": {"a.y": 3}})
    assert "# about y\ny = 2\n" in _applied({"overrides": {"a.y": 2}})
    assert "[e]\nv = 0.1\nu = 0.00005\n" in _applied({"overrides": {"e.u": 0.00005}})


def test_a_mapping_replaces_the_whole_section_in_place():
    text = _applied({"overrides": {"a.b": {"n": 1, "sub": {"m": "${e.v}"}}}})
    assert "[a.b]\nn = 1\n\n[a.b.sub]\nm = ${e.v}\n\n[a.d]" in text
    assert "[a.b.c]" not in text and 'z = "s"' not in text
    # A section written inline in its parent, and a new section (after its parent's last).
    text = _applied({"overrides": {"a.d.inline": {"k": 2}, "a.new": {"q": None}}})
    assert "inline = " not in text
    assert "[a.d]\n\n[a.d.inline]\nk = 2\n\n[a.new]\nq = null\n\n[e]" in text


def test_delete_removes_a_section_with_its_subsections_or_one_setting():
    text = _applied({"delete": ["a.b", "a.y"]})
    assert "[a.b" not in text and "y = 2" not in text and "# about y" not in text
    assert text.startswith("[a]\nx = 1\n\n[a.d]")


@pytest.mark.parametrize("spec", [{"overrides": {"nope.x": 1}}, {"overrides": {"nope.x": {"k": 1}}},
                                  {"delete": ["a.nope"]}, {"overrides": {"x": 1}}])
def test_settings_of_missing_sections_are_errors(spec):
    with pytest.raises(ConfigSourceError):
        _applied(spec)
