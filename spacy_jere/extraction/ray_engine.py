"""The Ray engine: Ray Data reads the input files, a pool of actors (each loads the
pipeline once) annotates batches, and this process (the driver) writes the parts.

    files (from_items) -> map_batches(read_parts): the unfinished parts' rows, small blocks
                       -> map_batches(ExtractActor, compute=ActorPoolStrategy(size=workers))
                       -> iter_batches here -> PartCollector (the same as the local engine's)

Ray Data merges what one read task yields into blocks of up to the DataContext's
``target_max_block_size`` (128 MiB), and an actor task takes whole blocks: a file of
20,000 short documents was one block, one busy actor and no result until the end. The
run lowers that size to ``READ_BLOCK_BYTES`` (restored afterwards); the actor stage
bundles the small blocks up to ``batch_size`` rows, so a task is about one batch, the
pool spreads them over its actors, and results reach the driver (and become written
parts) as they finish. (``repartition(target_num_rows_per_block=...)`` would do the
cutting by rows, but its tasks need a CPU, which the actors hold: it deadlocks when the
actors take all CPUs.)

Reading runs the same code as the local engine (same entries, ids, parts and
fingerprints), so both engines write the same tables. Ray restarts an actor whose
process dies and runs its task again; the collector keeps one row per entry, so a
retried batch is not written twice. An exception in an actor fails the run: the parts
finished by then are recorded, and the next run on the same OUTPUT resumes from there.

On a cluster (``ray_address``), the input files, and MODEL if it is a folder, must be at
the same path on every node (a shared file system); spacy-jere must be installed there.
The output is written by the driver, on its own machine.
"""
import json
import logging
from contextlib import contextmanager
from typing import List, Optional

from .collector import PartCollector, part_rows
from .errors import ExtractUsageError
from .faults import Fault
from .inputs import InputFile
from .parts import InputChanged, PartPlan, pending_parts
from .pipeline import entity_source, load_pipeline
from .tables import annotations

# A few dozen short documents: small enough that a file becomes many actor tasks.
READ_BLOCK_BYTES = 16 * 1024
RAY_INSTALL = 'pip install "spacy-jere[ray]"'
ROW_COLUMNS = [("part", "string"), ("part_total", "int64"), ("position", "int64"), ("source", "string"),
               ("index", "int64"), ("fingerprint", "string"), ("doc_id", "string"), ("line", "int64"),
               ("kind", "string"), ("text", "string"), ("meta", "string"), ("reason", "string"),
               ("detail", "string")]


class EngineError(ExtractUsageError):
    """The engine cannot run; the message says what to do."""


def import_ray():
    """Ray and Ray Data, or an EngineError that says how to install them."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise EngineError(f"--engine ray needs Ray Data, which is not installed ({err}): {RAY_INSTALL}") from None
    return ray


def _schema(with_result: bool):
    import pyarrow as pa

    columns = [(name, pa.string() if kind == "string" else pa.int64()) for name, kind in ROW_COLUMNS]
    if with_result:
        columns = [column for column in columns if column[0] != "text"] + [("result", pa.string())]
    return pa.schema(columns)


def read_parts(files, plan: PartPlan, done: dict):
    """map_batches function: a batch of input files -> one table of rows per unfinished part."""
    import pyarrow as pa

    schema = _schema(with_result=False)
    for file in files.to_pylist():
        input_file = InputFile(path=file["path"], source=file["source"])
        try:
            for part in pending_parts(input_file, plan, done):
                yield pa.Table.from_pylist(part_rows(part), schema=schema)
        except InputChanged as err:
            error = dict.fromkeys(schema.names, "") | dict.fromkeys(("part_total", "position", "index", "line"), 0)
            yield pa.Table.from_pylist([{**error, "kind": "error", "detail": str(err)}], schema=schema)


class ExtractActor:
    """map_batches callable class: loads the pipeline once per actor, annotates batches."""

    def __init__(self, model: str, max_chars: int, batch_size: int, use_gpu: bool, threads: Optional[int],
                 fault: Optional[dict], int8: bool = False):
        self.nlp = load_pipeline(model, max_chars, 0 if use_gpu else -1, threads, int8=int8)
        self.source = entity_source(self.nlp)
        self.batch_size = batch_size
        self.fault = Fault(**fault) if fault else None

    def __call__(self, batch):
        import pyarrow as pa

        rows = batch.to_pylist()
        docs = [row for row in rows if row["kind"] == "doc"]
        if self.fault is not None:
            for row in docs:
                self.fault.check(row["doc_id"])
        for row, doc in zip(docs, self.nlp.pipe([row["text"] for row in docs], batch_size=self.batch_size),
                            strict=True):
            row["result"] = json.dumps(annotations(doc, self.source))
        for row in rows:
            row.pop("text")
            row.setdefault("result", "")
        return pa.Table.from_pylist(rows, schema=_schema(with_result=True))


def connect(address: Optional[str], num_cpus: Optional[int] = None) -> bool:
    """Join the Ray cluster at ``address``, or start a local Ray; True if this call started
    (and so must stop) it. An already initialised Ray (e.g. a notebook's) is used as it is."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False)
    return True


def input_rows(ray, files: List[InputFile], plan: PartPlan, done: dict):
    """The dataset of the unfinished parts' rows (blocks of ``target_max_block_size``)."""
    listing = ray.data.from_items([{"path": f.path, "source": f.source} for f in files])
    return listing.map_batches(read_parts, batch_size=1, batch_format="pyarrow", num_cpus=0,
                               fn_kwargs={"plan": plan, "done": done})


@contextmanager
def data_context(ray, show_progress: bool, block_bytes: int = READ_BLOCK_BYTES):
    """Ray Data settings for one run, restored afterwards (a notebook's Ray keeps its own)."""
    context = ray.data.DataContext.get_current()
    saved = context.enable_progress_bars, context.target_max_block_size
    context.enable_progress_bars, context.target_max_block_size = show_progress, block_bytes
    try:
        yield context
    finally:
        context.enable_progress_bars, context.target_max_block_size = saved


def run_ray(model: str, files: List[InputFile], plan: PartPlan, collector: PartCollector, *, batch_size: int,
            workers: int = 1, cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0,
            address: Optional[str] = None, fault: Optional[Fault] = None, show_ray_progress: bool = False,
            int8: bool = False) -> None:
    ray = import_ray()
    started = connect(address)
    actor_settings = {
        "model": model, "max_chars": plan.max_chars, "batch_size": batch_size, "use_gpu": gpus_per_worker > 0,
        "threads": max(int(cpus_per_worker), 1), "fault": fault.as_dict() if fault else None, "int8": int8,
    }
    try:
        logging.getLogger("ray.data").setLevel(logging.INFO if show_ray_progress else logging.WARNING)
        with data_context(ray, show_ray_progress):
            results = input_rows(ray, files, plan, collector.manifest.fingerprints()).map_batches(
                ExtractActor, batch_size=batch_size, batch_format="pyarrow", fn_constructor_kwargs=actor_settings,
                compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=cpus_per_worker,
                num_gpus=gpus_per_worker,
            )
            for batch in results.iter_batches(batch_format="pyarrow", batch_size=None):
                for row in batch.to_pylist():
                    if row["kind"] == "error":
                        raise InputChanged(row["detail"])
                    collector.add(row)
    finally:
        if started:
            ray.shutdown()
