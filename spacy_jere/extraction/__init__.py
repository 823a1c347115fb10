"""Corpus extraction: ``python -m spacy_jere extract MODEL INPUT OUTPUT`` (see
docs/extraction.md). One module a job:

- ``inputs``: INPUT (.txt, .jsonl, .parquet, folders, globs) -> entries with stable ids
  and bad records with file and line;
- ``parts``: entries -> parts (the unit written and resumed), the ``--max-chars`` rule;
- ``pipeline``: loading the pipeline where it runs;
- ``tables``: annotated Docs -> rows of the docs, entities, relations, skipped tables;
- ``writers``: part files in Parquet or JSONL; ``read_table`` to read them back;
- ``manifest``: what is finished (resume); ``collector``: rows -> finished parts;
- ``local``, ``ray_engine``: the engines; ``progress``, ``summary``: what the user sees;
- ``faults``: a failure injected on purpose (tests); ``run``: one run, start to end.
"""
from .errors import ExtractUsageError
from .run import ExtractionError, ExtractSettings, run_extraction
from .summary import summary_lines
from .writers import read_table

__all__ = ["ExtractSettings", "ExtractUsageError", "ExtractionError", "read_table", "run_extraction", "summary_lines"]
