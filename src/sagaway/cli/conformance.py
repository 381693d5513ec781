"""``sagaway conformance``: run the recorded AWS corpus against the interpreter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sagaway.cli import app
from sagaway.conformance.corpus import default_dir, load_index
from sagaway.conformance.report import by_category, by_feature, excluded
from sagaway.conformance.runner import CaseResult, run_cases, runnable, summarise

console = Console(stderr=True)


@app.command()
def conformance(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Corpus folder (default: $SAGAWAY_CONFORMANCE_DIR or ../shared/conformance)."
        ),
    ] = None,
    match: Annotated[
        str, typer.Option("--match", "-k", help="Only cases whose id contains this text.")
    ] = "",
    features: Annotated[
        bool, typer.Option("--features", help="Print passed/total per feature family.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per case.")
    ] = False,
) -> None:
    """Run the corpus's execution cases (pure and Lambda-backed, on a virtual clock) and its
    definition-level validation cases.

    Prints one line per failing case, then `N passed, M failed`; exits 1 if any failed.
    Cases listed in sagaway.conformance.report.EXCLUSIONS are reported as excluded with
    their reason and do not count.
    """
    folder = directory or default_dir()
    if not (folder / "index.json").is_file():
        console.print(f"[red]no conformance corpus at {folder}[/red] (index.json missing)")
        raise typer.Exit(2)
    total = sum(1 for row in load_index(folder) if row["kind"] != "test_state")

    def select(case: dict[str, object]) -> bool:
        return runnable(case) and match in str(case["id"]) and excluded(str(case["id"])) is None

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("cases", total=total)
        results = run_cases(folder, select, lambda _r: progress.advance(task))
    _print(results, as_json, features)
    if any(not r.passed for r in results):
        raise typer.Exit(1)


def _print(results: list[CaseResult], as_json: bool, features: bool) -> None:
    for result in results:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "id": result.id,
                        "passed": result.passed,
                        "history_matched": result.history_matched,
                        "diffs": result.diffs,
                    }
                )
            )
        elif not result.passed:
            typer.echo(f"FAIL {result.id}: {result.diffs[0] if result.diffs else ''}")
    from sagaway.conformance.report import EXCLUSIONS

    for case_id, reason in EXCLUSIONS.items():
        console.print(f"excluded {case_id}: {reason}")
    table = Table("kind", "passed", "total")
    for name, (passed, total) in by_category(results).items():
        table.add_row(name, str(passed), str(total))
    console.print(table)
    if features:
        table = Table("feature", "passed", "total")
        for family, (passed, total) in by_feature(results).items():
            table.add_row(family, str(passed), str(total))
        console.print(table)
    summary = summarise(results)
    checked = summary["history_checked"]
    rate = 100.0 * summary["history_matched"] / checked if checked else 100.0
    console.print(f"history match: {summary['history_matched']}/{checked} ({rate:.1f}%)")
    typer.echo(f"{summary['passed']} passed, {summary['failed']} failed")
