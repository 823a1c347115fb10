"""Every config from one hand-written base.

configs/base.cfg is the only hand-written config. configs/variants.yml gives each shipped
config (configs/<name>.cfg) as a config to start from (base.cfg by default) plus the
settings it changes, or as a row of configs/experiments.yml; each row there is likewise a
shipped config plus the row's settings. Settings:

- `overrides`: a dotted key sets one value (`training.max_epochs: 12`); a mapping value
  replaces the whole section, subsections included (`training.optimizer: {...}`);
- `delete`: sections or single settings to remove (configs/tok2vec.cfg has no transformer).

The settings are applied to the config's text rather than to a thinc Config, so that the
base's comments and section order reach every generated file. A comment directly above a
setting is taken to describe that setting, so it goes when a variant changes the value.
"""
import re
import textwrap
from decimal import Decimal

import srsly

from .layout import CONFIGS

BASE = CONFIGS / "base.cfg"
VARIANTS = CONFIGS / "variants.yml"
EXPERIMENTS = CONFIGS / "experiments.yml"
EXPORT_CONFIGS = "python -m spacy_jere.experiments export-configs"

SECTION = re.compile(r"^\[([^\]]+)\]\s*$")
SETTING = re.compile(r"^([^#\s=\[][^=]*?)\s*=\s*(.*)$")


class ConfigSourceError(ValueError):
    """A variant or row that names a section, config or row that does not exist."""


def load_sources() -> dict:
    return {"variants": srsly.read_yaml(VARIANTS)["configs"], "rows": srsly.read_yaml(EXPERIMENTS)["rows"]}


# A config's text as [(section name, lines under its header)], in file order.

def parse(text: str) -> tuple:
    """(comment lines above the first section, sections)."""
    preamble, sections, lines = [], [], None
    for line in text.splitlines():
        match = SECTION.match(line)
        if match:
            lines = []
            sections.append((match.group(1), lines))
        else:
            (preamble if lines is None else lines).append(line)
    for body in [preamble, *(body for _, body in sections)]:
        while body and not body[-1].strip():
            body.pop()
    return preamble, sections


def to_text(header: list, sections: list) -> str:
    blocks = ["\n".join(header)] if header else []
    blocks += ["\n".join([f"[{name}]", *lines]) for name, lines in sections]
    return "\n\n".join(blocks) + "\n"


def _value_text(value) -> str:
    from confection import try_dump_json

    if isinstance(value, float) and "e-" in repr(value):
        return format(Decimal(repr(value)), "f")  # 0.00005 as the base writes it, not 5e-05
    return try_dump_json(value)


def _same_value(text: str, value) -> bool:
    from confection import try_load_json

    return try_load_json(text) == value


def _subtree(sections: list, name: str) -> list:
    """Indices of the section `name` and of its subsections."""
    return [i for i, (s, _) in enumerate(sections) if s == name or s.startswith(name + ".")]


def _lines_of(sections: list, name: str):
    return next((lines for s, lines in sections if s == name), None)


def _setting_index(lines: list, key: str):
    for i, line in enumerate(lines):
        match = SETTING.match(line)
        if match and match.group(1) == key:
            return i
    return None


def _comment_start(lines: list, i: int) -> int:
    """Start of the comment block directly above line i (i if none)."""
    while i > 0 and lines[i - 1].lstrip().startswith("#"):
        i -= 1
    return i


def _as_sections(name: str, mapping: dict) -> list:
    lines = [f"{key} = {_value_text(value)}" for key, value in mapping.items() if not isinstance(value, dict)]
    sections = [(name, lines)]
    for key, value in mapping.items():
        if isinstance(value, dict):
            sections += _as_sections(f"{name}.{key}", value)
    return sections


def _split(dotted: str, where: str) -> tuple:
    if "." not in dotted:
        raise ConfigSourceError(f"{where}: {dotted!r} names no setting: use section.key")
    return tuple(dotted.rsplit(".", 1))


def _drop_setting(lines: list, key: str) -> bool:
    i = _setting_index(lines, key)
    if i is None:
        return False
    del lines[_comment_start(lines, i):i + 1]
    return True


def replace_section(sections: list, name: str, mapping: dict, where: str) -> list:
    """The section `name` and its subsections replaced by `mapping` in the same place; a
    new section goes after its parent's last subsection."""
    parent, key = _split(name, where)
    old = _subtree(sections, name)
    if old:
        at = old[0]
    else:
        siblings = _subtree(sections, parent)
        if not siblings:
            raise ConfigSourceError(f"{where}: {name!r}: no section [{parent}]")
        at = siblings[-1] + 1
    _drop_setting(_lines_of(sections, parent) or [], key)  # the section written inline
    kept = [section for i, section in enumerate(sections) if i not in old]
    at -= sum(1 for i in old if i < at)
    return kept[:at] + _as_sections(name, mapping) + kept[at:]


def set_value(sections: list, dotted: str, value, where: str) -> list:
    section, key = _split(dotted, where)
    lines = _lines_of(sections, section)
    if lines is None:
        raise ConfigSourceError(f"{where}: {dotted!r}: no section [{section}]")
    replaced = _subtree(sections, dotted)  # a section given a plain value
    sections = [s for i, s in enumerate(sections) if i not in replaced]
    i = _setting_index(lines, key)
    if i is None:
        lines.append(f"{key} = {_value_text(value)}")
    elif not _same_value(SETTING.match(lines[i]).group(2), value):
        start = _comment_start(lines, i)  # it described the old value
        lines[start:i + 1] = [f"{key} = {_value_text(value)}"]
    return sections


def delete(sections: list, dotted: str, where: str) -> list:
    subtree = _subtree(sections, dotted)
    if subtree:
        return [s for i, s in enumerate(sections) if i not in subtree]
    section, key = _split(dotted, where)
    if not _drop_setting(_lines_of(sections, section) or [], key):
        raise ConfigSourceError(f"{where}: cannot delete {dotted!r}: no such section or setting")
    return sections


def apply(sections: list, spec: dict, where: str) -> list:
    """A copy of `sections` with the spec's overrides, then its deletions."""
    sections = [(name, list(lines)) for name, lines in sections]
    for dotted, value in (spec.get("overrides") or {}).items():
        if isinstance(value, dict):
            sections = replace_section(sections, dotted, value, where)
        else:
            sections = set_value(sections, dotted, value, where)
    for dotted in spec.get("delete") or ():
        sections = delete(sections, dotted, where)
    return sections


# Shipped configs and experiment rows.

def config_sections(name: str, sources: dict, seen: frozenset = frozenset()) -> list:
    """The sections of configs/<name>.cfg: "base" (hand-written) or a variant."""
    if name == "base":
        return parse(BASE.read_text())[1]
    if name in seen:
        raise ConfigSourceError(f"{VARIANTS.name}: {name!r} is built from itself")
    if name not in sources["variants"]:
        raise ConfigSourceError(f"{VARIANTS.name}: no config {name!r}; configs: base, {', '.join(sources['variants'])}")
    spec = sources["variants"][name]
    if "row" in spec:
        if {"base", "overrides", "delete"} & set(spec):
            raise ConfigSourceError(f"{VARIANTS.name}: {name}: a row's config takes no base, overrides or delete")
        return row_sections(spec["row"], sources, seen | {name})
    sections = config_sections(spec.get("base", "base"), sources, seen | {name})
    return apply(sections, spec, f"{VARIANTS.name}: {name}")


def row_sections(row: str, sources: dict, seen: frozenset = frozenset()) -> list:
    rows = sources["rows"]
    if row not in rows:
        raise ConfigSourceError(f"{EXPERIMENTS.name}: no row {row!r}; rows: {', '.join(rows)}")
    sections = config_sections(rows[row]["base"], sources, seen)
    return apply(sections, rows[row], f"{EXPERIMENTS.name}: row {row!r}")


def _comment(text: str) -> list:
    return ["# " + line for line in textwrap.wrap(" ".join(text.split()), 86)]


def config_text(name: str, sources: dict) -> str:
    """configs/<name>.cfg as generated, header included."""
    spec = sources["variants"][name]
    if "row" in spec:
        base = sources["rows"][spec["row"]]["base"]
        origin = (f'row "{spec["row"]}" of configs/experiments.yml (configs/{base}.cfg with the row\'s '
                  "settings). Edit the base, the variant or the row, not this file.")
    else:
        origin = (f'configs/{spec.get("base", "base")}.cfg with the settings of "{name}" in configs/variants.yml. '
                  "Edit the base or the variant, not this file.")
    header = _comment(f"Generated by `{EXPORT_CONFIGS}`: {origin}")
    if spec.get("description"):
        header += ["#", *(f"# {line}".rstrip() for line in spec["description"].strip().splitlines())]
    return to_text(header, config_sections(name, sources))


def row_text(row: str, sources: dict, command: str = "") -> str:
    """The row's config, with a header naming the row (and the command that wrote it)."""
    sections = row_sections(row, sources)
    spec = sources["rows"][row]
    text = (f"row {row!r} ({spec['paper']}) of configs/experiments.yml: configs/{spec['base']}.cfg "
            "with the row's settings.")
    text = f"Generated by `{command}`: {text} Edit the row, not this file." if command else text[0].upper() + text[1:]
    return to_text(_comment(text), sections)


def row_config(row: str, sources: dict):
    """The row's config as a thinc Config, variables left uninterpolated."""
    from confection import Config

    return Config().from_str(row_text(row, sources), interpolate=False)


def export_configs(check: bool = False) -> list:
    """Write every shipped config (or, with check, write nothing); the ones that were
    out of date."""
    sources = load_sources()
    stale = []
    for name in sources["variants"]:
        path, text = CONFIGS / f"{name}.cfg", config_text(name, sources)
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not check:
                path.write_text(text)
    return stale


def unlisted_configs(sources: dict) -> list:
    """configs/*.cfg that are neither the base nor generated: hand-written copies."""
    known = {BASE.name, *(f"{name}.cfg" for name in sources["variants"])}
    return sorted(p for p in CONFIGS.glob("*.cfg") if p.name not in known)


def export_row(row: str, out, sources: dict) -> None:
    out.write_text(row_text(row, sources, command=f"python -m spacy_jere.experiments export {row}"))

