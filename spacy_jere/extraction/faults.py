"""A failure injected on purpose, to test that a failing worker loses and duplicates
nothing. Set by environment variables in the process that starts the run (the engines
hand it to their workers):

- ``SPACY_JERE_EXTRACT_FAIL_ON``: the doc id whose batch fails;
- ``SPACY_JERE_EXTRACT_FAIL_MODE``: ``raise`` (an exception, the default) or ``exit``
  (the worker process dies at once, as if killed);
- ``SPACY_JERE_EXTRACT_FAIL_ONCE``: a file path; the failure happens only while this
  file does not exist, and creates it (so a retried task or a re-run goes through).
"""
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

ENV_DOC = "SPACY_JERE_EXTRACT_FAIL_ON"
ENV_MODE = "SPACY_JERE_EXTRACT_FAIL_MODE"
ENV_ONCE = "SPACY_JERE_EXTRACT_FAIL_ONCE"


class InjectedFailure(RuntimeError):
    """The failure asked for by SPACY_JERE_EXTRACT_FAIL_ON."""


@dataclass(frozen=True)
class Fault:
    doc_id: str
    mode: str = "raise"
    once: Optional[str] = None

    @classmethod
    def from_env(cls) -> Optional["Fault"]:
        doc_id = os.environ.get(ENV_DOC)
        if not doc_id:
            return None
        mode = os.environ.get(ENV_MODE, "raise")
        if mode not in ("raise", "exit"):
            raise ValueError(f"{ENV_MODE}={mode!r}: use raise or exit")
        return cls(doc_id, mode, os.environ.get(ENV_ONCE) or None)

    def as_dict(self) -> dict:
        return asdict(self)

    def check(self, doc_id: str) -> None:
        if doc_id != self.doc_id:
            return
        if self.once is not None:
            marker = Path(self.once)
            if marker.exists():
                return
            marker.write_text(f"failed on {doc_id} in process {os.getpid()}\n", encoding="utf8")
        if self.mode == "exit":
            os._exit(1)
        raise InjectedFailure(f"injected failure on doc {doc_id!r} ({ENV_DOC})")
