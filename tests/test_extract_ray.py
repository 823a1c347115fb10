"""The Ray engine on a small local Ray (2 CPUs, one session for the module): the same
tables as the local engine, and a failing or dying actor loses and duplicates nothing."""
import pytest

from spacy_jere.extraction import ExtractionError, read_table
from spacy_jere.extraction.faults import ENV_DOC, ENV_MODE, ENV_ONCE
from spacy_jere.extraction.manifest import Manifest

from .extract_support import extract, extract_settings, tables, trained_model, write_corpus

ray = pytest.importorskip("ray", reason='Ray is not installed: pip install "spacy-jere[ray]" to run the Ray tests')
pytest.importorskip("ray.data", reason='Ray Data is not installed: pip install "spacy-jere[ray]"')
pytest.importorskip("pyarrow", reason='pyarrow is not installed: pip install "spacy-jere[ray]"')

RAY = {"engine": "ray", "workers": 1, "batch_size": 2, "part_size": 3}


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return trained_model(tmp_path_factory)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extract_ray") / "corpus"
    return folder, write_corpus(folder)


@pytest.fixture(scope="module")
def local_tables(model, corpus, tmp_path_factory):
    output = tmp_path_factory.mktemp("extract_ray") / "local"
    extract(model, corpus[0], output, part_size=3)
    return tables(output)


def test_ray_and_local_give_the_same_tables(model, corpus, local_tables, tmp_path):
    output = tmp_path / "ray"
    summary = extract(model, corpus[0], output, **{**RAY, "workers": 2})
    assert summary["status"] == "finished" and summary["engine"] == "ray"
    assert tables(output) == local_tables
    assert local_tables["entities"] and local_tables["relations"] and local_tables["skipped"]
    assert summary["total"]["docs"] + summary["total"]["skipped"] == len(corpus[1])


def test_a_file_is_read_into_many_small_blocks(corpus):
    """Not one block per file (Ray Data merges a read task's output up to the context's
    block size, and an actor task takes whole blocks): that kept one actor busy."""
    from spacy_jere.extraction.inputs import resolve_inputs
    from spacy_jere.extraction.parts import PartPlan
    from spacy_jere.extraction.ray_engine import data_context, input_rows

    context = ray.data.DataContext.get_current()
    before = context.target_max_block_size
    with data_context(ray, show_progress=False, block_bytes=300):
        rows = input_rows(ray, resolve_inputs([str(corpus[0])]), PartPlan(part_size=50), {})
        sizes = [batch.num_rows for batch in rows.iter_batches(batch_size=None, batch_format="pyarrow")]
    assert sum(sizes) >= 12 and len(sizes) >= 4
    assert context.target_max_block_size == before


def test_a_failing_actor_fails_the_run_with_what_was_done_then_resume(model, corpus, local_tables, tmp_path,
                                                                       monkeypatch):
    output = tmp_path / "ray"
    monkeypatch.setenv(ENV_DOC, "p-1")  # in table.parquet, the last file
    monkeypatch.setenv(ENV_ONCE, str(tmp_path / "failed-once"))
    with pytest.raises(ExtractionError) as failure:
        extract(model, corpus[0], output, **RAY)
    message = str(failure.value)
    assert "injected failure on doc 'p-1'" in message
    assert "What was done" in message and "Run the same command again to resume" in message
    settings = extract_settings(model, corpus[0], output, **RAY)
    finished = list(Manifest.open(output, settings.resume_values()).done.values())
    assert f"holds {len(finished)} finished parts" in message
    assert "table.parquet" not in {part["source"] for part in finished}
    # What is on disk is whole parts only, each once.
    written = read_table(output, "docs") + read_table(output, "skipped")
    assert len(written) == len({(r["source"], r["line"]) for r in written}) == sum(p["entries"] for p in finished)

    summary = extract(model, corpus[0], output, **RAY)
    assert summary["this_run"]["parts_done_before"] == len(finished)
    assert summary["this_run"]["docs"] == 12 - sum(part["docs"] for part in finished)
    assert tables(output) == local_tables


def test_a_killed_actor_is_replaced_and_nothing_is_lost(model, corpus, local_tables, tmp_path, monkeypatch):
    output = tmp_path / "ray"
    monkeypatch.setenv(ENV_DOC, "j-1")
    monkeypatch.setenv(ENV_MODE, "exit")  # the actor's process dies, as if killed
    monkeypatch.setenv(ENV_ONCE, str(tmp_path / "died-once"))
    summary = extract(model, corpus[0], output, **RAY)
    assert (tmp_path / "died-once").exists()  # it did die
    assert summary["status"] == "finished"
    assert tables(output) == local_tables
