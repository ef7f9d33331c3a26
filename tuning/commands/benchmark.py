"""`tune benchmark`: retrain the exported best configs and the original study's baselines, timed; write the report."""

from __future__ import annotations

from pathlib import Path

from data_pipeline import parse_split_list
from tuning.errors import UserError
from tuning.benchmark.cells import BenchmarkPlan, run_benchmark
from tuning.benchmark.report import write_report
from tuning.settings import vgg_weights


def plan_from_args(args) -> BenchmarkPlan:
    return BenchmarkPlan(splits=tuple(parse_split_list(args.splits)), models=args.models, source=Path(args.source),
                         seeds=args.seeds, epochs=args.epochs, out=Path(args.out), vgg_weights=vgg_weights(args.weights),
                         data_dir=args.data_dir, schedules=args.schedule)


def cmd_benchmark(args) -> int:
    plan = plan_from_args(args)
    cells, skipped = run_benchmark(plan)
    if not cells:
        raise UserError("nothing to benchmark: every model asked for was skipped (see above)")
    print(f"report: {write_report(cells, plan.out, plan.seeds, skipped)}")
    return 0
