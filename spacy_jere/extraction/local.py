"""The local engine: one ``nlp.pipe`` over every unfinished part, in this process or in
``n_process`` spaCy worker processes (on the GPU ``gpu_id`` if given).

The parts of all files go through one ``nlp.pipe`` call (so worker processes start and
load the pipeline once), and each document comes back with its row, in input order; the
collector writes a part as soon as its last row is in.
"""
from typing import List, Optional

from .collector import PartCollector, part_rows
from .faults import Fault
from .inputs import InputFile
from .parts import PartPlan, pending_parts
from .pipeline import entity_source, load_pipeline
from .tables import annotations


def run_local(model: str, files: List[InputFile], plan: PartPlan, collector: PartCollector, *, batch_size: int,
              n_process: int = 1, gpu_id: int = -1, fault: Optional[Fault] = None, int8: bool = False) -> None:
    nlp = load_pipeline(model, plan.max_chars, gpu_id, int8=int8)
    source = entity_source(nlp)
    done = collector.manifest.fingerprints()

    def texts_with_rows():
        for file in files:
            for part in pending_parts(file, plan, done):
                for row in part_rows(part):
                    if row["kind"] == "doc":
                        yield row.pop("text"), row
                    else:
                        collector.add(row)

    for doc, row in nlp.pipe(texts_with_rows(), as_tuples=True, batch_size=batch_size, n_process=n_process):
        if fault is not None:
            fault.check(row["doc_id"])
        collector.add({**row, "result": annotations(doc, source)})
