"""One extraction run: check everything that can be checked before writing, open (or
resume) OUTPUT, run an engine, and write the summary, also when the engine fails."""
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

from .collector import PartCollector
from .errors import ExtractUsageError
from .faults import Fault
from .inputs import Fields, InputFile, count_entries, require_parquet_reader, resolve_inputs
from .manifest import Manifest
from .parts import PartPlan
from .pipeline import PipelineError
from .progress import Progress
from .summary import duplicate_ids, skipped_examples, totals, write_summary
from .writers import FORMATS, TableWriter, require_pyarrow

ENGINES = ("local", "ray")


class SettingsError(ExtractUsageError):
    """Options that do not go together or are out of range."""


class ExtractionError(Exception):
    """A run that failed after it started writing; the message says what was done."""


@dataclass
class ExtractSettings:
    model: str
    inputs: List[str]
    output: Path
    engine: str = "local"
    format: str = "parquet"
    batch_size: int = 8
    n_process: int = 1
    gpu_id: int = -1
    workers: int = 1
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    ray_address: Optional[str] = None
    text_field: str = "text"
    id_field: str = "id"
    max_chars: int = 100_000
    part_size: int = 1000
    progress: bool = True
    int8: bool = False

    def check(self) -> None:
        problems = []
        if self.engine not in ENGINES:
            problems.append(f"--engine {self.engine!r}: use local or ray")
        if self.format not in FORMATS:
            problems.append(f"--format {self.format!r}: use parquet or jsonl")
        for name in ("batch_size", "n_process", "workers", "max_chars", "part_size"):
            if getattr(self, name) < 1:
                problems.append(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.cpus_per_worker <= 0 or self.gpus_per_worker < 0:
            problems.append("--cpus-per-worker must be > 0 and --gpus-per-worker >= 0")
        if self.int8 and (self.gpu_id >= 0 or self.gpus_per_worker > 0):
            problems.append("--int8 is for the CPU (dynamic quantization): leave out --gpu-id / --gpus-per-worker")
        if self.engine == "ray" and (self.n_process != 1 or self.gpu_id >= 0):
            problems.append("--n-process and --gpu-id are for --engine local; with ray use --workers, "
                            "--cpus-per-worker and --gpus-per-worker")
        if self.engine == "local" and (self.workers != 1 or self.ray_address):
            problems.append("--workers and --ray-address are for --engine ray")
        if problems:
            raise SettingsError("; ".join(problems))

    def model_ref(self) -> str:
        """The model as the workers should load it: an absolute path for a folder."""
        path = Path(self.model)
        return str(path.resolve()) if path.exists() else self.model

    def resume_values(self) -> dict:
        return {"model": self.model_ref(), "inputs": [str(Path(spec).absolute()) for spec in self.inputs],
                "format": self.format, "text_field": self.text_field, "id_field": self.id_field,
                "max_chars": self.max_chars, "part_size": self.part_size, "int8": self.int8}

    def plan(self) -> PartPlan:
        return PartPlan(Fields(self.text_field, self.id_field), self.part_size, self.max_chars)


def _prepare(settings: ExtractSettings) -> List[InputFile]:
    """Everything that can fail before OUTPUT is touched."""
    settings.check()
    if settings.engine == "ray":
        from .ray_engine import import_ray

        import_ray()
        require_pyarrow()  # the engine moves rows as Arrow tables
    if not Path(settings.model).exists():
        import spacy

        if not spacy.util.is_package(settings.model):
            raise PipelineError(f"{settings.model}: no such pipeline folder or installed pipeline package")
    files = resolve_inputs(settings.inputs, exclude=settings.output)
    if any(file.kind == ".parquet" for file in files):
        require_parquet_reader()
    return files


def _run_engine(settings: ExtractSettings, files: List[InputFile], collector: PartCollector) -> None:
    fault = Fault.from_env()
    if settings.engine == "ray":
        from .ray_engine import run_ray

        run_ray(settings.model_ref(), files, settings.plan(), collector, batch_size=settings.batch_size,
                workers=settings.workers, cpus_per_worker=settings.cpus_per_worker,
                gpus_per_worker=settings.gpus_per_worker, address=settings.ray_address, fault=fault,
                int8=settings.int8)
    else:
        from .local import run_local

        run_local(settings.model_ref(), files, settings.plan(), collector, batch_size=settings.batch_size,
                  n_process=settings.n_process, gpu_id=settings.gpu_id, fault=fault, int8=settings.int8)


def run_extraction(settings: ExtractSettings) -> dict:
    """Extract INPUT into OUTPUT (see docs/extraction.md); returns the summary. Raises
    ExtractionError (with what was done) if the engine fails once OUTPUT is open."""
    files = _prepare(settings)
    writer = TableWriter(settings.output, settings.format)
    manifest = Manifest.open(settings.output, settings.resume_values())
    writer.remove_unrecorded(manifest.done)
    done_before = len(manifest.done)
    to_do = sum(count_entries(file) for file in files) - sum(part["entries"] for part in manifest.entries())
    progress = Progress(to_do, settings.progress)
    times: List[float] = []

    def on_row(row: dict) -> None:
        if not times:
            times.append(time.perf_counter())
        progress.row(row)

    collector = PartCollector(writer, manifest, on_row=on_row)
    started_at, started = datetime.now(timezone.utc), time.perf_counter()
    error: Optional[BaseException] = None
    try:
        _run_engine(settings, files, collector)
    except (Exception, KeyboardInterrupt) as err:  # recorded below, then raised with what was done
        error = err
    finally:
        progress.close()
    ended = time.perf_counter()
    annotating = ended - times[0] if times else 0.0
    summary = {
        "status": "failed" if error else "finished",
        "error": describe_error(error) if error else None,
        "engine": settings.engine, "format": settings.format, "model": settings.model_ref(),
        "inputs": settings.inputs, "output": str(settings.output), "input_files": len(files),
        "settings": {k: v for k, v in asdict(settings).items() if k not in ("output", "inputs")},
        "this_run": {
            "started": started_at.isoformat(timespec="seconds"), "wall_seconds": round(ended - started, 3),
            "annotating_seconds": round(annotating, 3), "docs": collector.docs,
            "docs_per_second": round(collector.docs / annotating, 2) if annotating > 0 else 0.0,
            "parts_written": len(collector.written), "parts_done_before": done_before,
            "parts_unfinished": collector.unfinished(),
        },
        "total": totals(manifest.entries()),
        "skipped_examples": skipped_examples(settings.output),
        "duplicate_ids": duplicate_ids(settings.output),
    }
    write_summary(settings.output, summary)
    if error is not None:
        raise ExtractionError(failure_message(summary)) from error
    return summary


ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception|Failure|Interrupt|Exit)): (.+)$",
                        re.MULTILINE)


def describe_error(error: BaseException) -> str:
    """``Type: message`` of the error that started it all: the first cause in the chain,
    or, for an error from a Ray worker (whose text holds the worker's traceback), the
    first exception line of that traceback. No terminal colour codes."""
    chain = [error]
    while True:
        cause = getattr(chain[-1], "cause", None) or chain[-1].__cause__
        if not isinstance(cause, BaseException) or any(cause is seen for seen in chain):
            break
        chain.append(cause)
    for err in chain:  # a worker's traceback, as text: its first exception line is the worker's error
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
        remote = ERROR_LINE.search(text) if "File \"" in text else None
        if remote is not None:
            return f"{remote.group(1)}: {remote.group(2).strip()} (in a worker; {type(error).__name__})"
    root = chain[-1]
    return f"{type(root).__name__}: {str(root).strip() or '(no message)'}"


def failure_message(summary: dict) -> str:
    run, total = summary["this_run"], summary["total"]
    unfinished = run["parts_unfinished"]
    return (
        f"extraction failed: {summary['error']}\n"
        f"What was done: {run['parts_written']} parts finished in this run, {run['parts_done_before']} by earlier "
        f"runs; {summary['output']} holds {total['parts']} finished parts ({total['docs']} docs, "
        f"{total['skipped']} skipped records), each written once. "
        + (f"{len(unfinished)} parts were in progress and are not written: {', '.join(unfinished[:5])}"
           f"{' ...' if len(unfinished) > 5 else ''}. " if unfinished else "")
        + "Run the same command again to resume: finished parts are not redone."
    )
