"""python -m spacy_jere.experiments COMMAND: the experiment rows of configs/experiments.yml,
the shipped configs and the benchmarks (results in bench/, see layout.py).

  run ROW... --dataset D --seeds 0 1      train and evaluate rows on dev -> bench/accuracy/
  rescore ROW...                          re-evaluate the saved models of finished runs
  speed ROW... --dataset D                training s/epoch, inference docs/s -> bench/speed/D.json
  inference ROW --dataset D --out F       inference-model on a trained model of the row
  inference-model MODEL DEV --out F       inference speed, scaling and memory of a pipeline
  training TRAIN --out F                  training cost of our head vs a tagger
  attention [--out F]                     range attention: shared ranges vs ragged gathers
  paragraphs MODEL DEV --dataset D         accuracy on docs of 1-10 sentences -> bench/paragraphs/D.*
  pruning MODEL DEV --dataset D            a pruning pipeline at retention 0.02-1.0 -> bench/pruning/D.*
  quantization MODEL DEV --dataset D       int8 vs float32: docs/s, peak RSS, F1 -> bench/quantization/D.*
  memory MODEL DEV --dataset D             inference RSS by stage and batch size -> bench/memory/D.*
  diagnose ROW --dataset D --steps N       loss terms, phase-one decisions, gradient norms -> bench/diagnostics/
  report                                  bench/README.md and bench/results.json
  export ROW --out F                      a row's config, for spacy train
  export-configs [--check]                configs/*.cfg from configs/base.cfg and variants.yml

`all` as the only ROW means every row.
"""
import argparse
from pathlib import Path

from . import layout


def _rows(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rows", nargs="+", help="rows of configs/experiments.yml, or all")
    parser.add_argument("--dataset", default="conll04")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m spacy_jere.experiments", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = main.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate rows on dev")
    _rows(run)
    run.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    run.add_argument("--gpu-id", type=int, default=-1)
    run.add_argument("--threads", type=int, default=0, help="torch/OpenMP threads per training (0: default)")
    run.add_argument("--force", action="store_true", help="re-run runs that have a result")

    rescore = sub.add_parser("rescore", help="re-evaluate the saved models of finished runs (both entity decodings)")
    _rows(rescore)
    rescore.add_argument("--gpu-id", type=int, default=-1)

    speed = sub.add_parser("speed", help="each row's training s/epoch and inference docs/s, one after the other")
    _rows(speed)
    speed.add_argument("--docs", type=int, default=480,
                       help="train sentences timed per row (60 steps at batch 8), at the row's own batch size")
    speed.add_argument("--batch-size", type=int, default=8, help="inference batch size")
    speed.add_argument("--out", type=Path, help="default: bench/speed/<dataset>.json")

    inference = sub.add_parser("inference", help="inference-model on a trained model of ROW")
    inference.add_argument("row")
    inference.add_argument("--dataset", default="conll04")
    inference.add_argument("--out", type=Path, help="default: bench/inference/<dataset>/<row>.json")
    inference.add_argument("--gpu-id", type=int, default=-1)

    model = sub.add_parser("inference-model", help="inference speed, scaling and memory of a pipeline")
    model.add_argument("model")
    model.add_argument("dev", type=Path)
    model.add_argument("--out", type=Path, required=True)
    model.add_argument("--batch-size", type=int, default=8)
    model.add_argument("--repeats", type=int, default=3)
    model.add_argument("--no-scaling", action="store_true", help="skip the doc-length scaling figures")
    model.add_argument("--gpu-id", type=int, default=-1)

    training = sub.add_parser("training", help="training cost of our head vs a tagger on the same listener")
    training.add_argument("train", type=Path)
    training.add_argument("--out", type=Path, help="required unless --child")
    training.add_argument("--steps", type=int, default=60)
    training.add_argument("--batch-size", type=int, default=8)
    training.add_argument("--config", type=Path, default=None, help="default: configs/cpu.cfg")
    training.add_argument("--child", choices=["span_relation", "tagger"], help="measure this head here, print JSON")
    training.add_argument("--gpu-id", type=int, default=-1)

    attention = sub.add_parser("attention", help="range attention: shared ranges vs ragged gathers")
    attention.add_argument("--sentences", type=int, default=8)
    attention.add_argument("--words", type=int, default=30)
    attention.add_argument("--max-width", type=int, default=10)
    attention.add_argument("--width", type=int, default=384, help="token vector width (MiniLM-L6: 384)")
    attention.add_argument("--variant", default="multihead")
    attention.add_argument("--threads", type=int, default=1)
    attention.add_argument("--out", type=Path, default=layout.attention_file("shared_ranges"))

    paragraphs = sub.add_parser("paragraphs", help="accuracy on docs of N sentences, strided vs sentence windows")
    paragraphs.add_argument("model")
    paragraphs.add_argument("dev", type=Path)
    paragraphs.add_argument("--dataset", default="conll04")
    paragraphs.add_argument("--sizes", type=int, nargs="+", default=[1, 3, 5, 10])
    paragraphs.add_argument("--no-stops", type=int, nargs="*", default=[10],
                            help="sizes also scored without the sentences' full stops")

    pruning = sub.add_parser("pruning", help="a pruning pipeline at several retention factors")
    pruning.add_argument("model")
    pruning.add_argument("dev", type=Path)
    pruning.add_argument("--dataset", default="conll04")
    pruning.add_argument("--retentions", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2, 1.0],
                         help="retention factors to score (1.0: no pruning at inference)")
    pruning.add_argument("--long-words", type=int, default=2000, help="words of the long document")
    pruning.add_argument("--batch-size", type=int, default=8)
    pruning.add_argument("--repeats", type=int, default=3, help="timed passes per retention (best of)")

    quant = sub.add_parser("quantization", help="int8 against float32 inference: docs/s, peak RSS, dev F1")
    quant.add_argument("model")
    quant.add_argument("dev", type=Path)
    quant.add_argument("--dataset", default="conll04")
    quant.add_argument("--batch-size", type=int, default=8)
    quant.add_argument("--threads", type=int, default=1)
    quant.add_argument("--rounds", type=int, default=2)

    memory = sub.add_parser("memory", help="inference RSS after imports, after loading, peak; per batch size")
    memory.add_argument("model")
    memory.add_argument("dev", type=Path)
    memory.add_argument("--dataset", default="conll04")
    memory.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32, 64])
    memory.add_argument("--int8-batch", type=int, default=8, help="also this batch with --int8 (0: no)")

    diagnose = sub.add_parser("diagnose", help="loss terms, phase-one decisions and gradient norms while training")
    diagnose.add_argument("row")
    diagnose.add_argument("--dataset", default="conll04")
    diagnose.add_argument("--steps", type=int, default=600)
    diagnose.add_argument("--seed", type=int, default=0)
    diagnose.add_argument("--window", type=int, default=100, help="steps averaged in one column")

    sub.add_parser("report", help="bench/README.md and bench/results.json from the results in bench/")

    export = sub.add_parser("export", help="write a row's config for spacy train")
    export.add_argument("row")
    export.add_argument("--out", type=Path, required=True)

    configs = sub.add_parser("export-configs", help="regenerate configs/*.cfg from configs/base.cfg and variants.yml")
    configs.add_argument("--check", action="store_true", help="write nothing; fail if a config is out of date")
    return main


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    from .configs import ConfigSourceError, load_sources

    try:
        command(args, load_sources())
    except ConfigSourceError as err:
        raise SystemExit(str(err)) from None


def command(args, sources: dict) -> None:
    rows = getattr(args, "rows", None)
    if rows == ["all"]:
        rows = list(sources["rows"])
    COMMANDS[args.command](args, rows, sources)


def _run(args, rows, sources) -> None:
    from .runner import run

    run(rows, args.dataset, args.seeds, sources, args.gpu_id, args.threads, args.force)


def _rescore(args, rows, sources) -> None:
    from .runner import rescore

    rescore(rows, args.dataset, args.gpu_id)


def _speed(args, rows, sources) -> None:
    from .speed import measure_speed

    out = args.out or layout.speed_file(args.dataset)
    measure_speed(rows, args.dataset, sources, out, args.docs, args.batch_size)


def _inference(args, rows, sources) -> None:
    from .inference import of_row

    of_row(args.row, args.dataset, args.out or layout.inference_file(args.dataset, args.row), args.gpu_id)


def _inference_model(args, rows, sources) -> None:
    from .inference import measure, write

    write(measure(args.model, args.dev, args.batch_size, args.repeats, not args.no_scaling, args.gpu_id), args.out)


def _training(args, rows, sources) -> None:
    import json

    from .training import DEFAULT_CONFIG, compare, measure

    config = args.config or DEFAULT_CONFIG
    if args.child:
        print(json.dumps(measure(args.child, args.train, args.steps, args.batch_size, config, args.gpu_id)))
    elif not args.out:
        raise SystemExit("training: --out is required (bench/training_cost/<dataset>.json)")
    else:
        compare(args.train, args.out, args.steps, args.batch_size, config, args.gpu_id)


def _attention(args, rows, sources) -> None:
    from .attention import measure

    measure(args.out, args.sentences, args.words, args.max_width, args.width, args.variant, args.threads)


def _paragraphs(args, rows, sources) -> None:
    import sys

    from .paragraphs import measure

    command = "python -m spacy_jere.experiments " + " ".join(sys.argv[1:])
    measure(args.model, args.dev, args.dataset, args.sizes, args.no_stops,
            layout.BENCH / "paragraphs" / f"{args.dataset}.json", command)


def _pruning(args, rows, sources) -> None:
    import sys

    from .pruning import measure

    command = "python -m spacy_jere.experiments " + " ".join(sys.argv[1:])
    measure(args.model, args.dev, args.dataset, args.retentions, args.long_words, args.batch_size,
            layout.BENCH / "pruning" / f"{args.dataset}.json", command, repeats=args.repeats)


def _quantization(args, rows, sources) -> None:
    import sys

    from .quantization import measure

    command = "python -m spacy_jere.experiments " + " ".join(sys.argv[1:])
    measure(args.model, args.dev, args.dataset, layout.BENCH / "quantization" / f"{args.dataset}.json", command,
            batch_size=args.batch_size, threads=args.threads, rounds=args.rounds)


def _memory(args, rows, sources) -> None:
    import sys

    from .memory import measure, write

    command = "python -m spacy_jere.experiments " + " ".join(sys.argv[1:])
    write(measure(args.model, args.dev, args.batch_sizes, args.int8_batch),
          layout.BENCH / "memory" / f"{args.dataset}.json", command)


def _diagnose(args, rows, sources) -> None:
    import sys

    from .diagnose import diagnose

    command = "python -m spacy_jere.experiments " + " ".join(sys.argv[1:])
    diagnose(args.row, args.dataset, args.steps, args.seed, args.window,
             layout.BENCH / "diagnostics" / args.dataset / f"{args.row}.json", command, sources)


def _report(args, rows, sources) -> None:
    from .report import write_report

    for path in write_report():
        print(f"wrote {path}")


def _export(args, rows, sources) -> None:
    from .configs import export_row

    export_row(args.row, args.out, sources)
    print(f"wrote {args.out}")


def _export_configs(args, rows, sources) -> None:
    from .configs import export_configs

    stale = export_configs(check=args.check)
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path}")
    if args.check and stale:
        raise SystemExit(
            f"{len(stale)} config(s) out of date: run `python -m spacy_jere.experiments export-configs`"
        )


# Each subcommand's function, called with the parsed args, the rows (`all` expanded) and the config sources.
COMMANDS = {
    "run": _run,
    "rescore": _rescore,
    "speed": _speed,
    "inference": _inference,
    "inference-model": _inference_model,
    "training": _training,
    "attention": _attention,
    "paragraphs": _paragraphs,
    "pruning": _pruning,
    "diagnose": _diagnose,
    "memory": _memory,
    "quantization": _quantization,
    "report": _report,
    "export": _export,
    "export-configs": _export_configs,
}


if __name__ == "__main__":
    main()
