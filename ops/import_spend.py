"""Import spend lines from a CSV file (ad platforms and finance systems export CSV), with a progress bar.

    python -m ops.import_spend spend.csv                  # the hub `make run` started
    python -m ops.import_spend spend.csv --stage dev      # a deployed stage (AWS credentials from the environment)

Columns are the spend line's fields: spend_id, campaign_id, channel, department, vendor, amount, currency,
incurred_on, reference, description, reverses, corrects (empty cells are absent fields), with a service period
as two columns, service_from and service_to (the line's `service_period`, instead of incurred_on; problems
with it are named by these columns). A line is the physical line its record starts on (a quoted description
may span lines); a row with more cells than the header has columns (an unquoted `1,234.56`) or fewer is
refused naming its line. Every line is checked first;
lines with problems are listed with their line numbers and not imported, the others are. Lines are
idempotent by spend_id: importing the same file again imports nothing twice (they are counted as already
recorded), and a spend_id recorded before with other values is listed as a conflict. A batch refused for
some of its lines (a currency without an FX rate, a bad reversal) is sent again in parts without them, so
its good lines are imported; a line is listed as refused once it is refused on its own, with its CSV line.
The whole file is sent in dependency order (a line after the original it reverses or corrects, and after
that original's reversal), so a reversal may come anywhere in the file, before its original or batches away.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from ops.audit_run import audited_run
from ops.rescore import one_line
from ops.stages import LOCAL, CannotRun, stage_clients
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb_finance import DynamoDbFinanceStore
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.catalog import CATALOG, FINANCE, physical_name
from shared.errors import InvalidInput
from shared.events.finance_events import FINANCE_EVENT_SOURCE
from shared.finance.budget_engine import compile_budget_engine
from shared.finance.config import load_finance_config
from shared.finance.service import FinanceService, PartlyRecorded, SpendIdConflict
from shared.finance.spend import FieldProblem, InvalidSpendBatch, InvalidSpendLine, parse_spend_line

FIELDS = (
    "spend_id",
    "campaign_id",
    "channel",
    "department",
    "vendor",
    "amount",
    "currency",
    "incurred_on",
    "service_from",
    "service_to",
    "reference",
    "description",
    "reverses",
    "corrects",
)
# a line's field as its CSV columns name it (the service period is two columns)
_COLUMN_OF = {"service_period.from": "service_from", "service_period.to": "service_to",
              "service_period": "service_from/service_to"}  # fmt: skip


@dataclass
class Summary:
    imported: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        said = f"imported {self.imported} spend lines, {self.already} already recorded"
        return said + (f", {len(self.problems)} refused (listed above)" if self.problems else "")


def rows(path: Path) -> Iterator[tuple[int, dict[str, object] | str]]:
    """Each record of the file with the physical line it starts on (a quoted value may span lines; blank lines
    are skipped): its spend line, or why the row cannot be read as one (more cells than the header has columns,
    as an unquoted `1,234.56` makes, or fewer)."""
    with path.open(newline="", encoding="utf-8-sig") as source:
        reader = csv.reader(source)
        header = next(reader, [])
        unknown = sorted(set(header) - set(FIELDS))
        if unknown:
            raise CannotRun(f"{path.name}: unknown columns {', '.join(unknown)}; the columns are {', '.join(FIELDS)}")
        while True:
            number = reader.line_num + 1  # the record starts on the line after those read so far
            cells = next(reader, None)
            if cells is None:
                return
            if not cells:
                continue  # a blank line
            if len(cells) != len(header):
                hint = " (a value holding a comma must be quoted)" if len(cells) > len(header) else ""
                yield number, f"the row has {len(cells)} cells, the header {len(header)} columns{hint}"
                continue
            row = {name: value.strip() for name, value in zip(header, cells, strict=True) if name and value.strip()}
            yield number, _line_of(row)


def _line_of(row: dict[str, str]) -> dict[str, object]:
    """The spend line of a CSV row: `service_from` and `service_to` become its `service_period`."""
    line: dict[str, object] = {name: value for name, value in row.items() if name not in ("service_from", "service_to")}
    if "service_from" in row or "service_to" in row:
        line["service_period"] = {"from": row.get("service_from"), "to": row.get("service_to")}
    return line


def _said(problem: FieldProblem, number: int | None = None) -> str:
    """A problem as the summary lists it: its CSV line, and the field as the CSV's columns name it."""
    line = problem.line if number is None else number
    return f"line {line}: {_COLUMN_OF.get(problem.field, problem.field)}: {problem.message}"


def import_file(service: FinanceService, path: Path) -> Summary:
    summary = Summary()
    good: list[tuple[int, dict[str, object]]] = []
    for number, row in rows(path):  # each line on its own first, so every problem is listed with its line
        if isinstance(row, str):
            summary.problems.append(f"invalid spend line: line {number}: {row}")
            continue
        try:
            parse_spend_line(row, service.config, line=number)
            good.append((number, row))
        except InvalidSpendLine as exc:  # one entry a line, naming each of its problems
            summary.problems.append("invalid spend line: " + "; ".join(_said(problem) for problem in exc.problems))
    # the whole file in dependency order (each line after the original it reverses or corrects and that
    # original's reversal), so no batch depends on a later one
    good = _linked_last(good)
    size = service.config.max_batch_lines
    with tqdm(total=len(good), desc=f"importing {path.name}", unit=" lines") as bar:
        for start in range(0, len(good), size):
            batch = good[start : start + size]
            _record(service, batch, summary)
            bar.update(len(batch))
    return summary


def _record(
    service: FinanceService,
    batch: Sequence[tuple[int, dict[str, object]]],
    summary: Summary,
    *,
    named_lines: bool = True,
) -> None:
    try:
        recorded = service.record_spend([row for _, row in batch])
    except SpendIdConflict as exc:
        numbers = {str(row.get("spend_id")): n for n, row in batch}
        summary.problems += [f"line {numbers.get(i, '?')}: {i} recorded before with other {', '.join(f)}"
                             for i, f in exc.conflicts.items()]  # fmt: skip
        conflicting = set(exc.conflicts)
        rest = [(n, row) for n, row in batch if str(row.get("spend_id")) not in conflicting]
        if rest:
            _record(service, rest, summary, named_lines=named_lines)
        return
    except PartlyRecorded as exc:  # earlier transactions stored, the rest refused after a concurrent writer
        summary.imported += len(exc.recorded)
        left = set(exc.not_recorded)
        rest = [(n, row) for n, row in batch if str(row.get("spend_id")) in left]
        if rest:  # sent again: recorded before, imported, or refused on its own with its CSV line
            _record(service, rest, summary, named_lines=False)
        return
    except InvalidSpendBatch as exc:  # problems only a batch shows (a missing FX rate, a reversal)
        if len(batch) == 1:  # refused on its own: every problem is this line's, whatever line the service says
            summary.problems += [_said(p, batch[0][0]) for p in exc.problems]
            return
        for part in _parts(batch, exc.problems if named_lines else ()):
            _record(service, part, summary, named_lines=False)
        return
    summary.imported += len(recorded.created)
    summary.already += len(recorded.existing)


def _parts(
    batch: Sequence[tuple[int, dict[str, object]]], problems: Sequence[FieldProblem]
) -> list[list[tuple[int, dict[str, object]]]]:
    """A refused batch cut to be sent again, in order: each line the problems name (1-based positions in the
    batch) alone, the lines between them together; without a named line, in halves. A line of the batch comes
    before its reversal, and an original's reversal before its correction (as the service orders a batch), so
    no part reverses or corrects a line of a later part.
    A part refused again is halved (the service's positions are not trusted twice): every good line is then
    imported, and every bad one ends up refused on its own, so it is listed with its CSV line."""
    named = {batch[p.line - 1][0] for p in problems if p.line is not None and 1 <= p.line <= len(batch)}
    ordered = _linked_last(batch)
    if not named:
        half = len(ordered) // 2
        return [ordered[:half], ordered[half:]]
    parts: list[list[tuple[int, dict[str, object]]]] = []
    between: list[tuple[int, dict[str, object]]] = []
    for item in ordered:
        if item[0] not in named:
            between.append(item)
            continue
        parts += [between, [item]] if between else [[item]]
        between = []
    return [*parts, between] if between else parts


def _linked_last(batch: Sequence[tuple[int, dict[str, object]]]) -> list[tuple[int, dict[str, object]]]:
    """The lines (a batch, or a whole file) with each after the lines among them it depends on: the original it
    reverses, the original it corrects and that original's reversal (a stable sort by depth; a cycle, which the
    service refuses, is left where it falls). Walked without recursion: a file may chain many corrections."""
    by_id = {str(row.get("spend_id")): row for _, row in batch}
    reversal_of = {str(row["reverses"]): str(row.get("spend_id")) for _, row in batch if row.get("reverses")}
    depth: dict[str, int] = {}

    def needs(row: dict[str, object]) -> list[str]:
        corrects = row.get("corrects")
        found = [row.get("reverses"), corrects, reversal_of.get(str(corrects)) if corrects else None]
        return [str(one) for one in found if one is not None and str(one) in by_id]

    for _, row in batch:
        first = str(row.get("spend_id"))
        if first in depth:
            continue
        path = [first]  # the lines being walked, each needing the next; their depth is known once the next's is
        on_path = {first}
        todo = [iter(needs(by_id[first]))]
        while path:
            following = next((one for one in todo[-1] if one not in on_path and one not in depth), None)
            if following is not None:
                path.append(following)
                on_path.add(following)
                todo.append(iter(needs(by_id[following])))
                continue
            done = path.pop()
            on_path.discard(done)
            todo.pop()
            known = [depth[one] for one in needs(by_id[done]) if one in depth]
            depth[done] = 1 + max(known, default=-1)
    return sorted(batch, key=lambda item: depth[str(item[1].get("spend_id"))])


def service_for(stage: str, endpoint_url: str | None) -> FinanceService:
    client = stage_clients(stage, endpoint_url)
    config = load_finance_config()
    return FinanceService(
        DynamoDbFinanceStore(client("dynamodb"), physical_name(stage, FINANCE.name)),
        config,
        compile_budget_engine(config),
        EventBridgePublisher(
            client("events"),
            physical_name(stage, CATALOG.bus_name),
            FINANCE_EVENT_SOURCE,
        ),
        SystemClock(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="the CSV file")
    parser.add_argument("--stage", help="local (default: the hub `make run` started), dev, prod")
    parser.add_argument("--endpoint-url", help="AWS endpoint (default for local: the running hub's embedded AWS)")
    args = parser.parse_args(argv)
    stage = args.stage or LOCAL
    try:
        if not args.file.is_file():
            raise CannotRun(f"no file {args.file}")
        with audited_run("import_spend", vars(args), stage, endpoint_url=args.endpoint_url) as audit:
            summary = import_file(service_for(stage, args.endpoint_url), args.file)
            audit.finish(1 if summary.problems else 0, str(summary))
    except (CannotRun, InvalidInput, BotoCoreError, ClientError, UnicodeDecodeError, csv.Error) as exc:
        print(f"error: {one_line(exc, stage)}", file=sys.stderr)
        return 2
    for problem in summary.problems:
        print(problem, file=sys.stderr)
    print(summary)
    return 1 if summary.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
