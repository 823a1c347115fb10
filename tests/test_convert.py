import json
import subprocess
import sys

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_jere.convert import ConversionError, convert_file, read_spert_json

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
    result = subprocess.run([sys.executable, "-m", "spacy_jere", "convert", str(good), str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "1 docs" in result.stdout and "1 relations" in result.stdout
