"""Where a Doc came from, kept in ``doc.user_data`` so a DocBin carries it and export can
write the same document names back (SpERT ``orig_id``, DyGIE++ ``doc_key``/``dataset``,
BRAT file name)."""
from typing import Any, Optional

from spacy.tokens import Doc

DOC_ID_KEY = "spacy_jere.doc_id"
DATASET_KEY = "spacy_jere.dataset"


def set_doc_id(doc: Doc, value: Any) -> None:
    if value is not None:
        doc.user_data[DOC_ID_KEY] = value


def get_doc_id(doc: Doc) -> Optional[Any]:
    return doc.user_data.get(DOC_ID_KEY)
