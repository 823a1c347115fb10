import json
import subprocess
import sys

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_jere.cli import app
from spacy_jere.convert import ConversionError, convert_file, read_spert_json
from spacy_jere.formats.spert_out import write_spert

GOOD = {
    "tokens": ["John", "Smith", "works", "for", "Acme", "."],
    "entities": [{"type": "Peop", "start": 0, "end": 2}, {"type": "Org", "start": 4, "end": 5}],
    "relations": [{"type": "Work_For", "head": 0, "tail": 1}],
    "orig_id": 7,
}
TYPES = {"entities": {"Peop": {}, "Org": {}}, "relations": {"Work_For": {}}}


def write(tmp_path, records, name="data.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def bad(**changes):
    record = json.loads(json.dumps(GOOD))
    record.update(changes)
    return record


def problems_of(tmp_path, records, types=None):
    with pytest.raises(ConversionError) as err:
        read_spert_json(write(tmp_path, records), Vocab(), types_path=types)
    return err.value.problems, str(err.value)


def test_round_trip_keeps_entities_relations_and_tokens(tmp_path):
    out = tmp_path / "out.spacy"
    stats = convert_file(write(tmp_path, [GOOD, GOOD]), out)
    assert (stats.docs, stats.entities, stats.relations) == (2, 4, 2)
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    doc = docs[0]
    assert [t.text for t in doc] == GOOD["tokens"]
    assert doc.has_unknown_spaces  # spacy's Corpus then keeps these tokens
    assert [(s.text, s.label_) for s in doc.spans["entities"]] == [("John Smith", "Peop"), ("Acme", "Org")]
    (rel,) = doc._.relations
    assert (rel.head.text, rel.label, rel.tail.text) == ("John Smith", "Work_For", "Acme")


def test_offsets_out_of_range_names_record_and_field(tmp_path):
    records = [GOOD, bad(entities=[{"type": "Peop", "start": 4, "end": 9}], relations=[])]
    problems, message = problems_of(tmp_path, records)
    assert problems == [
        "record 1 (orig_id 7): entities[0]: offsets [4, 9) out of range for 6 tokens (need 0 <= start < end <= 6)"
    ]
    assert "data.json" in message and "nothing was written" in message


def test_head_tail_must_index_entities(tmp_path):
    problems, _ = problems_of(tmp_path, [bad(relations=[{"type": "Work_For", "head": 0, "tail": 2}])])
    assert problems == ["record 0 (orig_id 7): relations[0].tail: 2 is not an index into entities (0..1)"]


def test_empty_tokens(tmp_path):
    problems, _ = problems_of(tmp_path, [bad(tokens=[], entities=[], relations=[])])
    assert problems == ["record 0 (orig_id 7): tokens: empty list (a record needs at least one token)"]
    problems, _ = problems_of(tmp_path, [bad(tokens=["a", " ", "b", "c", "d", "e"])])
    assert problems == ["record 0 (orig_id 7): tokens[1]: ' ' is not a non-empty string"]


def test_unknown_types_with_a_types_file(tmp_path):
    types = write(tmp_path, TYPES, "types.json")
    record = bad(entities=[{"type": "Person", "start": 0, "end": 2}, {"type": "Org", "start": 4, "end": 5}],
                 relations=[{"type": "Employs", "head": 1, "tail": 0}])
    problems, _ = problems_of(tmp_path, [record], types)
    assert problems == [
        "record 0 (orig_id 7): entities[0].type: unknown entity type 'Person' (not in the types file)",
        "record 0 (orig_id 7): relations[0].type: unknown relation type 'Employs' (not in the types file)",
    ]
    # without a types file any type is accepted
    read_spert_json(write(tmp_path, [record]), Vocab())


def test_every_bad_record_is_reported(tmp_path):
    records = [bad(entities="x"), GOOD, bad(relations=[{"type": "Work_For", "head": 1, "tail": 1}]), "junk"]
    problems, _ = problems_of(tmp_path, records)
    assert problems == [
        "record 0 (orig_id 7): entities: not a list",
        "record 2 (orig_id 7): relations[0]: head and tail are the same entity (1)",
        "record 3: record: expected an object, got str",
    ]


def test_invalid_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[{")
    with pytest.raises(ConversionError, match="not valid JSON"):
        read_spert_json(path, Vocab())


def test_duplicates_are_merged_and_counted(tmp_path):
    record = bad(
        entities=GOOD["entities"] + [{"type": "Peop", "start": 0, "end": 2}],
        relations=[{"type": "Work_For", "head": 0, "tail": 1}, {"type": "Work_For", "head": 2, "tail": 1}],
    )
    docs, stats = read_spert_json(write(tmp_path, [record]), Vocab())
    assert stats.merged_duplicate_entities == 1 and stats.merged_duplicate_relations == 1
    assert len(docs[0].spans["entities"]) == 2 and len(docs[0]._.relations) == 1


def test_cli_reports_and_fails_on_bad_input(tmp_path):
    path = write(tmp_path, [bad(entities=[{"type": "Peop", "start": 3, "end": 2}], relations=[])])
    out = tmp_path / "out.spacy"
    result = subprocess.run([sys.executable, "-m", "spacy_jere", "convert", str(path), str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "record 0 (orig_id 7): entities[0]: offsets [3, 2) out of range" in result.stderr
    assert not out.exists()
    good = write(tmp_path, [GOOD], "good.json")
    result = run_cli("convert", good, out)  # in process: one subprocess above shows `python -m` works
    assert result.exit_code == 0, result.stderr
    assert "(spert)" in result.stdout and "1 docs" in result.stdout and "1 relations" in result.stdout


# -- errors on whole files, and the SpERT round trip -----------------------------------
def run_cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("content", ["[]", "", "  \n"])
def test_empty_corpus_is_refused(tmp_path, content):
    path = tmp_path / "empty.json"
    path.write_text(content)
    out = tmp_path / "out.spacy"
    result = run_cli("convert", path, out)
    assert result.exit_code == 1
    assert "0 documents" in result.stderr and "nothing to train on" in result.stderr
    assert "empty.json" in result.stderr and not out.exists()


def test_non_utf8_input_names_the_byte_and_suggests_an_encoding(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes('[{"tokens": ["Café"], "entities": [], "relations": []}]'.encode("latin-1"))
    result = run_cli("convert", path, tmp_path / "out.spacy")
    assert result.exit_code == 1
    assert "latin.json" in result.stderr and "byte 17 (line 1, column 18) is 0xe9" in result.stderr
    assert "--encoding latin-1" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("convert", path, tmp_path / "out.spacy", "--encoding", "latin-1")
    assert result.exit_code == 0, result.stderr
    doc = next(DocBin().from_disk(tmp_path / "out.spacy").get_docs(Vocab()))
    assert doc[0].text == "Café"


def test_json_syntax_error_gives_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"tokens": ["a"],\n  "entities": [}]')
    with pytest.raises(ConversionError) as err:
        read_spert_json(path, Vocab())
    assert err.value.problems == ["not valid JSON at line 2, column 16: Expecting value"]


def test_json_lines_read_as_spert_json_gets_a_hint(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n")
    with pytest.raises(ConversionError, match="looks like JSON Lines") as err:
        read_spert_json(path, Vocab())
    assert "line 2, column 1" in str(err.value)
    # --format auto says what the lines are
    result = run_cli("convert", path, tmp_path / "out.spacy")
    assert result.exit_code == 1 and "SpERT JSON is one list of records" in result.stderr


def test_types_file_that_is_not_json_is_a_clear_error(tmp_path):
    types = tmp_path / "types.json"
    types.write_text("{'entities': {}}")
    with pytest.raises(ConversionError, match="(?s)types.json: .*not valid JSON at line 1, column 2"):
        read_spert_json(write(tmp_path, [GOOD]), Vocab(), types_path=types)


def test_spert_json_round_trip_is_exact(tmp_path):
    records = [
        GOOD,
        {"tokens": ["The", "University", "of", "Texas", "in", "Austin", "."],
         "entities": [{"type": "Org", "start": 1, "end": 4}, {"type": "Loc", "start": 3, "end": 4},
                      {"type": "Loc", "start": 5, "end": 6}],
         "relations": [{"type": "OrgBased_In", "head": 0, "tail": 2}, {"type": "Located_In", "head": 1, "tail": 2},
                       {"type": "OrgBased_In", "head": 0, "tail": 1}],
         "orig_id": "x-2"},
        {"tokens": ["Nothing", "here"], "entities": [], "relations": []},
    ]
    convert_file(write(tmp_path, records), tmp_path / "corpus.spacy")
    docs = list(DocBin().from_disk(tmp_path / "corpus.spacy").get_docs(Vocab()))
    write_spert(docs, tmp_path / "back.json")
    assert json.loads((tmp_path / "back.json").read_text()) == records


def test_entities_merged_into_one_make_a_self_relation_that_is_counted(tmp_path):
    record = bad(entities=GOOD["entities"] + [{"type": "Peop", "start": 0, "end": 2}],
                 relations=[{"type": "Knows", "head": 0, "tail": 2}, {"type": "Work_For", "head": 2, "tail": 1}])
    docs, stats = read_spert_json(write(tmp_path, [record]), Vocab())
    assert [r.label for r in docs[0]._.relations] == ["Work_For"]
    assert sum(stats.skipped.values()) == 1 and stats.relations == 1
