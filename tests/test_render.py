"""Terminal output at 80, 100, 120 and 200 columns, in memory (no emulator, except the last test).

Every table is rendered by the function its command uses, at a pretend terminal of each width, and
read back cell by cell: identifiers (UUIDs, ARNs, names) whole on one line, prose wrapped but not
cut, the columns left out named under the table, `status`'s verdict on every row, and no line wider
than the terminal. `mapping get` is one `Field  value` line per field. Without colour there are no
escape sequences at all. The last test runs the real `esmctl status` and `esmctl list` in a
pseudo-terminal of 80 and 120 columns against the emulator.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from rich.cells import cell_len
from rich.console import Console

from esmctl import doctor
from esmctl.commands import consumer, health, output
from esmctl.context import Settings, color_enabled
from esmctl.mapping.identity import Key
from esmctl.plan.types import Action, Change
from esmctl.results import Result
from esmctl.status import Health, Lag
from esmctl.views import mappings, results, tables
from tests.reported import ACCOUNT, QUEUE, REGION, STREAM, TABLE_STREAM, consumer_arn, reported

WIDTHS = (80, 100, 120, 200)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
LONG_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:payments-settlement-retry-queue-for-the-eu-west-partner-banks"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """stdout as a terminal of a given width (rich reads COLUMNS): `out = terminal(80)`, then print."""

    def at(width: int) -> Terminal:
        out = Terminal()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setenv("COLUMNS", str(width))
        monkeypatch.setenv("TERM", "xterm-256color")
        monkeypatch.delenv("NO_COLOR", raising=False)
        return out

    return at


PLAIN = Settings(color=False)


# -- reading a table back ------------------------------------------------------------------------
@dataclass
class Shown:
    """What a terminal showed: the table's columns and each row's cells (a cell: its lines), or records."""

    headers: list[str]
    rows: list[dict[str, list[str]]]
    hidden: list[str] = field(default_factory=list)
    records: bool = False


def read_back(text: str, columns: list[tables.Column]) -> Shown:
    lines = text.splitlines()
    rule = next((i for i, line in enumerate(lines) if line.startswith("━")), None)
    if rule is None:
        return _read_records(lines, columns)
    header_lines = [line.split("┃") for line in lines[:rule] if "┃" in line]
    headers = [" ".join(h[i].strip() for h in header_lines if h[i].strip()) for i in range(len(header_lines[0]))]
    body = lines[rule + 1:]
    end = next((i for i, line in enumerate(body) if "│" not in line), len(body))
    rows: list[dict[str, list[str]]] = []
    for line in body[:end]:
        segments = [s.strip() for s in line.split("│")]
        assert len(segments) == len(headers), line
        if not line.startswith(" "):  # a row starts at the edge; a broken name's next lines hang indented
            rows.append({h: [] for h in headers})
        for h, s in zip(headers, segments, strict=True):
            rows[-1][h].append(s)
    after = [line.strip() for line in body[end:]]
    if after and re.fullmatch(r"\d+ mappings?, \d+ unhealthy(, \d+ (lagging|no data|paused))*\.", after[-1]):
        after.pop()  # status's summary line
    caption = " ".join(after)
    hidden = []
    if caption:
        m = re.fullmatch(r"\((.*) hidden: widen the terminal or use -o json\)", caption)
        assert m, caption
        hidden = m.group(1).split(", ")
    return Shown(headers, rows, hidden)


def _read_records(lines: list[str], columns: list[tables.Column]) -> Shown:
    """`FIELD  value` blocks, one per row; a wrapped value goes on under itself."""
    width = max(len(c.header) for c in columns) + 2
    rows: list[dict[str, list[str]]] = []
    last = None
    for line in lines:
        label = line[:width].strip()
        if not line.strip():
            last = None
        elif label in {c.header for c in columns}:
            if last is None:
                rows.append({})
            last = label
            rows[-1][label] = [line[width:].rstrip()]
        elif last is not None and not label:
            rows[-1][last].append(line[width:].rstrip())
    return Shown([c.header for c in columns], rows, records=True)


def squeeze(lines: list[str]) -> str:
    """A cell's text without the spaces and line breaks that wrapping may add or take away."""
    return "".join("".join(lines).split())


def check(text: str, width: int, columns: list[tables.Column], rows: list[dict]) -> Shown:
    """The rules for every terminal table; returns what was shown for more specific checks."""
    shown = read_back(text, columns)
    assert len(shown.rows) == len(rows), text
    assert sorted(shown.headers + shown.hidden) == sorted(c.header for c in columns), text
    assert not {c.header for c in columns if c.keep} & set(shown.hidden), text
    for row, cells in zip(rows, shown.rows, strict=True):
        for c in columns:
            if c.header not in shown.headers:
                continue
            want = "" if row.get(c.key) is None else str(row[c.key])
            lines = cells.get(c.header, [""]) if shown.records else cells[c.header]  # a card skips empty fields
            if c.identifier and getattr(c, "breakable", False) and lines[0] != want:  # broken at separators
                broken = [line for line in lines if line]
                assert squeeze(broken) == squeeze([want]) and len(broken) > 1, (c.header, lines, text)
                assert all(b[-1] in tables._BREAK_AFTER or len(b) == max(map(len, broken)) for b in broken[:-1]), \
                    (c.header, lines, text)  # at a separator, or (no separator near enough) at the edge
            elif c.identifier:  # whole, on the row's first line, nothing under it
                assert lines[0] == want and not any(lines[1:]), (c.header, lines, text)
            else:  # wrapped between words, all there, and no word (an ARN in a message) cut in two
                assert squeeze(lines) == squeeze([want]), (c.header, lines, text)
                assert all(any(word in line.split() for line in lines) for word in want.split()), (lines, text)
    label_width = max(len(c.header) for c in columns) + 2
    identifiers = {str(r.get(c.key)) for r in rows for c in columns if c.identifier}
    for line in text.splitlines():
        # Only a record's identifier too long for the terminal may go on: the terminal wraps it, esmctl doesn't.
        if cell_len(line) > width:
            assert shown.records and line[label_width:] in identifiers, (line, text)
    for row in rows:  # and, said plainly: every UUID and full ARN shown is shown whole on one line
        for c in columns:
            value = str(row.get(c.key) or "")
            if c.header in shown.headers and (UUID.fullmatch(value) or value.startswith("arn:")):
                assert any(value in line for line in text.splitlines()), (value, text)
    return shown


# -- the data: what AWS reports, with long names and long problems --------------------------------
def live_mappings() -> list[dict]:
    ms = [reported({"FunctionName": "orders-processor-fn", "EventSourceArn": STREAM,
                    "StartingPosition": "TRIM_HORIZON"}),
          reported({"FunctionName": "jobs-fn", "EventSourceArn": QUEUE}),
          reported({"FunctionName": "audit-fn:live", "EventSourceArn": TABLE_STREAM, "StartingPosition": "LATEST",
                    "Enabled": False}),
          reported({"FunctionName": "fanout-fn", "EventSourceArn": consumer_arn("fanout"),
                    "StartingPosition": "LATEST", "FilterCriteria": {"Filters": [{"Pattern": '{"data": {"a": [1]}}'}]},
                    "DestinationConfig": {"OnFailure": {"Destination": QUEUE}}})]
    ms[0]["LastProcessingResult"] = "PROBLEM: Function call failed because of an error in the function code"
    return ms


def healths() -> list[Health]:
    m = live_mappings()
    from datetime import datetime, timedelta, timezone

    from esmctl.status import Lag, Limits, assess

    at = datetime(2026, 11, 23, tzinfo=timezone.utc)
    lag = Lag("IteratorAge", "ms", 95_000.0, [(at + timedelta(minutes=i), 1000.0 * i * i) for i in range(10)])
    out = [Health(m[0]["UUID"], m[0]["FunctionArn"], m[0]["EventSourceArn"], "Enabled", "User action",
                  m[0]["LastProcessingResult"], "kinesis", lag, {"PolledEventCount": 1200, "InvokedEventCount": 1100,
                                                                 "FailedInvokeEventCount": 100}),
           Health(m[1]["UUID"], m[1]["FunctionArn"], m[1]["EventSourceArn"], "Enabled", "User action",
                  "No records processed"),
           Health(m[2]["UUID"], m[2]["FunctionArn"], m[3]["EventSourceArn"], "Disabled",
                  "The function's execution role lacks permission for kinesis:SubscribeToShard", ""),
           Health(None, FN + "billing-fn", QUEUE, "")]
    return [assess(h, limits=Limits(age=timedelta(minutes=1))) for h in out]


def verdict(h: Health) -> str:
    return "ok" if h.healthy else "UNHEALTHY: " + "; ".join(h.problems)


# -- the tables ------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_list(terminal, width):
    items = live_mappings()
    out = terminal(width)
    output.mappings(PLAIN, items)
    by_function = [items[i] for i in (2, 3, 1, 0)]  # audit-fn:live, fanout-fn, jobs-fn, orders-processor-fn
    shown = check(out.getvalue(), width, mappings.MAPPING_COLUMNS, [mappings.mapping_row(m) for m in by_function])
    assert not shown.records
    # at 80 too: which stream or queue, and whether it works (a long source broken over lines where it must be)
    assert {"FUNCTION", "SOURCE", "STATE", "LAST RESULT"} <= set(shown.headers)
    assert [squeeze(r["FUNCTION"]) for r in shown.rows] == [mappings.mapping_row(m)["Function"] for m in by_function]
    if width == 80:
        assert "UUID" in shown.hidden  # the UUID makes way, and the caption says so
    if width == 200:
        assert not shown.hidden
        assert shown.headers[0] == "UUID" and [r["UUID"][0] for r in shown.rows] == [m["UUID"] for m in by_function]


@pytest.mark.parametrize("width", WIDTHS)
def test_status_shows_the_verdict_on_every_row(terminal, width):
    hs = healths()
    out = terminal(width)
    health._print_status(PLAIN, hs)
    shown = check(out.getvalue(), width, health.STATUS_COLUMNS, health.status_rows(hs))
    assert not shown.records
    for h, row in zip(hs, shown.rows, strict=True):
        assert squeeze(row["FUNCTION"]) == mappings.mapping_title(h.function_arn, h.source_arn).split(" <- ")[0]
        assert row["VERDICT"][0].startswith("ok" if h.healthy else "UNHEALTHY:")  # on the row's first line
        assert squeeze(row["VERDICT"]) == squeeze([verdict(h)])  # all of it, however wrapped
    assert {"FUNCTION", "SOURCE", "LAST RESULT", "LAG", "VERDICT"} <= set(shown.headers)
    if width == 80:
        assert "REASON" in shown.hidden  # the least telling goes first
    if width == 200:
        assert shown.headers == [c.header for c in health.STATUS_COLUMNS if c.header not in shown.hidden]


@pytest.mark.parametrize("width", WIDTHS)
def test_status_watch_table_fits_too(width):
    hs = healths()
    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
    console.print(health._status_renderable(hs, width))
    text = console.file.getvalue()
    assert re.match(r"\s*4 mappings, 3 unhealthy — \d\d:\d\d:\d\d, Ctrl-C to stop", text)
    body = text[text.index("FUNCTION"):]
    shown = check(body, width, health.STATUS_COLUMNS, health.status_rows(hs, trend=True))
    assert [squeeze(r["VERDICT"]) for r in shown.rows] == [squeeze([verdict(h)]) for h in hs]
    # --watch draws the trend of the lag over the window
    assert squeeze(shown.rows[0]["LAG"]) == squeeze(["95.0 s ▁▁▁▁▂▃▄▅▇█"])


@pytest.mark.parametrize("width", (*WIDTHS, 60))
def test_status_with_names_too_long_for_a_row_breaks_them(terminal, width):
    """Names too long for the row are broken over lines, after their separators, so that the verdict
    columns stay; only when even that cannot fit is each mapping a block of lines."""
    h = Health(None, FN + "settlement-reconciliation-for-partner-banks-in-the-eu-west-fn", LONG_QUEUE,
               "Disabled", "User action", "PROBLEM: Function call failed")
    hs = [assess_default(h), assess_default(Health(None, FN + "jobs-fn", QUEUE, "Enabled"))]
    out = terminal(width)
    health._print_status(PLAIN, hs)
    shown = check(out.getvalue(), width, health.STATUS_COLUMNS, health.status_rows(hs))
    assert shown.records == (width < 80)  # 10 + 14 + 10 + 10 + 20 columns, and four gaps
    for row, h in zip(shown.rows, hs, strict=True):
        assert squeeze(row["VERDICT"]) == squeeze([verdict(h)])
    if width == 120:
        [source] = [r["SOURCE"] for r in shown.rows[:1]]
        assert len([line for line in source if line]) > 1 and source[0].endswith(("-", ":"))


def test_break_identifier():
    assert tables.break_identifier("dynamodb:orders-table/stream/2026-12-04T16:56:00.828433", 30) == [
        "dynamodb:orders-table/stream/", "  2026-12-04T16:56:00.828433"]
    assert tables.break_identifier("sqs:jobs", 30) == ["sqs:jobs"]
    assert tables.break_identifier("x" * 25, 10) == ["x" * 10, "  " + "x" * 8, "  " + "x" * 7]  # at the edge
    assert tables.break_identifier("orders-fn <- kinesis:orders", 16) == ["orders-fn <- ", "  kinesis:orders"]


def assess_default(h: Health) -> Health:
    from esmctl.status import assess

    return assess(h)


def findings() -> list[doctor.Finding]:
    stream, sqs, elsewhere = live_mappings()[0], live_mappings()[1], dict(live_mappings()[3])
    elsewhere["FunctionArn"] = elsewhere["FunctionArn"].replace(REGION, "eu-west-1")
    return (doctor.check_stalls(stream) + doctor.check_visibility(sqs, 30, 900) + doctor.check_region(elsewhere)
            + doctor.check_concurrency(stream, 8, 4, 2, None))


@pytest.mark.parametrize("width", WIDTHS)
def test_doctor(terminal, width):
    fs = findings()
    assert len(fs) == 4
    out = terminal(width)
    output.table(PLAIN, health.doctor_rows(fs), health.DOCTOR_COLUMNS)
    shown = check(out.getvalue(), width, health.DOCTOR_COLUMNS, health.doctor_rows(fs))
    assert [r["SEVERITY"][0] for r in shown.rows] == ["WARNING", "ERROR", "ERROR", "ERROR"]
    assert {"MAPPING", "FINDING", "FIX"} <= set(shown.headers)  # what to do about it, at 80 columns too


def consumers() -> tuple[list[dict], dict[str, list[dict]]]:
    made = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    cs = [{"ConsumerName": name, "ConsumerARN": consumer_arn(name), "ConsumerStatus": "ACTIVE",
           "ConsumerCreationTimestamp": made, "StreamARN": STREAM} for name in ("fanout", "orphan-consumer")]
    users = {cs[0]["ConsumerARN"]: [live_mappings()[3], reported({"FunctionName": "audit-fn",
                                                                  "EventSourceArn": cs[0]["ConsumerARN"]})]}
    return cs, users


@pytest.mark.parametrize("width", WIDTHS)
def test_consumer_list(terminal, width):
    cs, users = consumers()
    rows = [consumer.consumer_row(c, users.get(c["ConsumerARN"], [])) for c in cs]
    out = terminal(width)
    output.table(PLAIN, rows, consumer.CONSUMER_COLUMNS, empty="No consumers.")
    shown = check(out.getvalue(), width, consumer.CONSUMER_COLUMNS, rows)
    assert [r["NAME"][0] for r in shown.rows] == ["fanout", "orphan-consumer"]
    assert "USED BY" in shown.headers
    # an ARN of 88 characters: whole, or not at all (and then after who uses the consumer, and its status)
    assert ("ARN" in shown.headers) == (width == 200) and "STATUS" in shown.headers


def apply_results() -> list[Result]:
    ms = live_mappings()

    def change(action: str, m: dict) -> Change:
        return Change(Action(action), Key(m["FunctionArn"], m["EventSourceArn"]), (), None, (), ())

    return [Result(change("create", ms[0]), True, "created, Enabled", ms[0]["UUID"]),
            Result(change("update", ms[3]), True, "updated BatchSize, FilterCriteria", ms[3]["UUID"]),
            Result(change("create", {"FunctionArn": FN + "missing-fn", "EventSourceArn": QUEUE}), False,
                   "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing-fn (404)"),
            Result(change("delete", ms[2]), False, "skipped: an earlier change failed", ms[2]["UUID"],
                   skipped=True)]


@pytest.mark.parametrize("width", WIDTHS)
def test_apply_results(terminal, width):
    rs = apply_results()
    out = terminal(width)
    output.results(PLAIN, rs)
    shown = check(out.getvalue(), width, results.RESULT_COLUMNS, results.result_rows(rs))
    assert [squeeze(r["RESULT"]) for r in shown.rows] == [squeeze([r["Result"]]) for r in results.result_rows(rs)]
    # a 63-character mapping name, and a result with a 57-character ARN that is not cut either
    assert shown.records == (width < 140)
    if width == 200:
        assert not shown.hidden


def test_fit_leaves_out_the_lowest_priority_first_and_never_a_kept_column():
    columns = [tables.ident("ID", keep=True), tables.prose("NOTE", priority=10), tables.ident("KIND", priority=90),
               tables.prose("WHY", priority=50, min_width=12)]
    cells = [["x" * 30, "a long note " * 3, "kinesis", "because of this and that"]]
    assert tables.fit(columns, cells, 200).hidden == []
    assert tables.fit(columns, cells, 60).hidden == ["NOTE"]
    assert tables.fit(columns, cells, 48).hidden == ["NOTE", "WHY"]
    narrow = tables.fit(columns, cells, 33)
    assert narrow.shown == [0] and narrow.hidden == ["NOTE", "KIND", "WHY"]
    assert tables.fit(columns, cells, 29) is None  # the kept ID does not fit: records instead
    wide = tables.fit(columns, cells, 70)
    assert wide.shown == [0, 1, 2, 3] and sum(wide.prose_widths.values()) == 70 - 30 - 7 - 9


# -- one record ------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_mapping_get_is_field_value_lines(terminal, width):
    item = live_mappings()[3]
    out = terminal(width)
    output.mapping(PLAIN, item)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(item)  # a line per field: nothing broken, whatever the width
    column = lines[0].index(item["UUID"])
    for line, (k, v) in zip(lines, item.items(), strict=True):
        assert line[:column].rstrip() == k and not line[column - 1].strip()
        if isinstance(v, str):
            assert line[column:] == v  # ARNs whole, on their line
    by_field = {line[:column].rstrip(): line[column:] for line in lines}
    assert by_field["FilterCriteria"] == '{"Filters":[{"Pattern":"{\\"data\\": {\\"a\\": [1]}}"}]}'
    assert by_field["DestinationConfig"] == json.dumps(item["DestinationConfig"], separators=(",", ":"))
    assert by_field["LastModified"] == str(item["LastModified"])


def test_mapping_get_piped_is_the_same_lines(esmctl, monkeypatch):
    item = live_mappings()[0]
    monkeypatch.setattr("esmctl.commands.mapping._existing", lambda _settings, _uuid: item)
    r = esmctl("mapping", "get", item["UUID"])
    assert r.stdout.splitlines() == tables.field_lines(list(item.items()))
    assert "EventSourceArn".ljust(len("MaximumBatchingWindowInSeconds  ")) + STREAM in r.stdout.splitlines()
    markdown = esmctl("mapping", "get", item["UUID"], "-o", "markdown").stdout
    assert markdown.startswith("| FIELD") and f"| {item['UUID']} " in markdown


@pytest.mark.parametrize("width", WIDTHS)
def test_consumer_describe_is_field_value_lines(terminal, width):
    cs, users = consumers()
    out = terminal(width)
    consumer._show(PLAIN, cs[0], users[cs[0]["ConsumerARN"]])
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == ["NAME", "STATUS", "CREATED", "USED BY", "ARN", "STREAM"]
    assert lines[4].endswith("  " + cs[0]["ConsumerARN"]) and lines[5].endswith("  " + STREAM)


# -- colour ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("no_color, color_flag, coloured", [
    (None, True, True), ("", True, True), ("1", True, False), ("please", True, False), ("0", True, False),
    (None, False, False)])
def test_no_color_means_no_escapes_at_all(terminal, monkeypatch, no_color, color_flag, coloured):
    out = terminal(100)
    if no_color is not None:
        monkeypatch.setenv("NO_COLOR", no_color)
    settings = Settings(color=color_flag)
    assert color_enabled(settings) is coloured
    output.mappings(settings, live_mappings())  # a bold header
    output.stdout_console(settings).print("[bold]Plan:[/] [green]+ create[/]")
    assert ("\x1b[" in out.getvalue()) is coloured, repr(out.getvalue()[:200])


@pytest.mark.parametrize("value", ["1", "please", "false"])
def test_any_no_color_value_is_accepted(esmctl, monkeypatch, value):
    """click no longer reads NO_COLOR as a boolean: NO_COLOR=please is not a usage error."""
    monkeypatch.setenv("NO_COLOR", value)
    r = esmctl("mapping", "create", "--function", "f")  # a usage error of its own, after the root options
    assert r.exit_code == 252 and "--no-color" not in r.stderr and "give the source" in r.stderr


# -- end to end: a real pseudo-terminal ------------------------------------------------------------
def run_in_terminal(args: list[str], columns: int, env: dict[str, str]) -> tuple[int, str, str]:
    """Run esmctl with stdout on a pty of `columns` columns (stderr piped): exit code, stdout, stderr."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    exe = os.path.join(os.path.dirname(sys.executable), "esmctl")
    proc = subprocess.Popen([exe, *args], stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env, close_fds=True)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    code = proc.wait(timeout=60)
    errors = proc.stderr.read().decode()
    proc.stderr.close()
    return code, seen.decode().replace("\r\n", "\n"), errors


@pytest.mark.slow
def test_status_and_list_in_a_real_terminal(world, box, esmctl_process):
    from tests.helpers import client

    lam = client(box, "lambda", direct=False)
    made = [lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                            StartingPosition="TRIM_HORIZON")["UUID"],
            lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["orders"],
                                            StartingPosition="LATEST", Enabled=False)["UUID"],
            lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])["UUID"],
            lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["orders-table-stream"],
                                            StartingPosition="LATEST")["UUID"]]  # a long source
    docs = json.loads(esmctl_process("status", "-o", "json").stdout)
    items = json.loads(esmctl_process("list", "-o", "json").stdout)["EventSourceMappings"]
    assert sorted(d["UUID"] for d in docs) == sorted(made)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(NO_COLOR="1", TERM="xterm-256color", PYTHONIOENCODING="utf-8")
    found = [doctor.Finding(f["severity"], f["check"], f["mapping"], f["finding"], f["fix"])
             for f in json.loads(esmctl_process("doctor", "--function", "orders-fn", "-o", "json").stdout)]
    hs = [Health(d["UUID"], d["FunctionArn"], d["EventSourceArn"], d["State"], d["StateTransitionReason"],
                 d["LastProcessingResult"], metrics=d.get("Metrics", {}), problems=d["Problems"],
                 lag=Lag(d["Lag"]["Metric"], d["Lag"]["Unit"], d["Lag"]["Value"]) if d["Lag"] else None)
          for d in docs]
    for columns in (80, 120):
        code, text, errors = run_in_terminal(["status"], columns, env)
        assert code == 3, text + errors  # audit-fn is Disabled
        assert "\x1b" not in text
        shown = check(text, columns, health.STATUS_COLUMNS, health.status_rows(hs))
        assert {"LAST RESULT", "LAG", "VERDICT"} <= set(shown.headers), text
        verdicts = sorted((r["FUNCTION"][0], squeeze(r["VERDICT"])) for r in shown.rows)
        problems = next(h.problems for h in hs if h.source_arn == world["orders"] and not h.healthy)
        unhealthy = squeeze(["UNHEALTHY: " + "; ".join(problems)])
        assert problems and verdicts == sorted([("audit-fn", "ok"), ("audit-fn", unhealthy), ("jobs-fn", "ok"),
                                                ("orders-fn", "ok")])
        code, text, errors = run_in_terminal(["list"], columns, env)
        assert code == 0, text + errors
        by_function = sorted((mappings.mapping_row(m) for m in items), key=lambda r: (r["Function"], r["Source"]))
        shown = check(text, columns, mappings.MAPPING_COLUMNS, by_function)  # the table's order
        assert {"SOURCE", "STATE", "LAST RESULT"} <= set(shown.headers)
        assert ("UUID" in shown.headers) == (columns == 120)
        if columns == 120:
            assert sorted(r["UUID"][0] for r in shown.rows) == sorted(made)
        else:  # the hint under the table is whole words, at the terminal's width
            assert re.search(r"\n\(UUID(, [A-Z ]+)* hidden: widen the terminal or use -o json\)\n", text), text
        code, text, errors = run_in_terminal(["doctor", "--function", "orders-fn"], columns, env)
        assert code == 0, text + errors  # a warning: the stream mapping retries forever
        shown = check(text, columns, health.DOCTOR_COLUMNS, health.doctor_rows(found))
        assert [r["CHECK" if "CHECK" in shown.headers else "SEVERITY"][0] for r in shown.rows] in (
            [["stalled-shards"], ["WARNING"]])
        assert squeeze(shown.rows[0]["FIX"]) == squeeze([found[0].fix])


def test_arns_are_shown_as_they_are_not_as_emoji_or_markup(terminal):
    # rich would turn ":secret:" (every Secrets Manager ARN) into an emoji and "[...]" into markup.
    from esmctl.plan.planner import diff
    from tests.reported import BROKER, SECRET, desired

    mq = {"EventSourceArn": BROKER, "Queues": ["q[1]"], "SourceAccessConfigurations": [{"Type": "BASIC_AUTH",
                                                                                        "URI": SECRET}]}
    out = terminal(200)
    output.plan(PLAIN, diff([desired(mq)], []))
    assert SECRET in out.getvalue() and "q[1]" in out.getvalue()


@pytest.mark.parametrize("color", [False, True])
def test_no_color_means_no_spinners_or_cursor_movements_either(monkeypatch, color):
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    settings = Settings(color=color)
    with output.spinner(settings, "waiting"):
        pass
    with output.progress(settings, "applying", 1) as advance:
        advance("ok: create orders-fn")
    assert ("\x1b[" in err.getvalue()) is color
    if not color:
        assert err.getvalue() == "ok: create orders-fn\n"


def test_records_wrap_prose_between_words_even_with_a_word_too_long_for_the_room():
    arn = "arn:aws:sqs:us-east-1:123456789012:payments-settlement-retry-queue"
    verdict = f"PROBLEM: Function call failed; lag 12m is over 5m for {arn} since the last deploy"
    console = Console(file=io.StringIO(), width=40, color_system=None, soft_wrap=False)
    console.print(tables.record_lines([("VERDICT", verdict, tables.PROSE)], 40), crop=False)
    lines = console.file.getvalue().splitlines()
    assert " ".join(line.strip() for line in lines).removeprefix("VERDICT ").strip() == verdict  # nothing lost
    assert [line for line in lines if len(line) > 40] == [f"         {arn}"]  # only the word that cannot fit


def test_a_records_identifier_too_long_for_the_width_is_broken_at_its_separators():
    """A card's SOURCE longer than the terminal (a DynamoDB stream ARN at 60 columns) goes on over lines, broken after
    `:` and `/`, within the width, as tables break identifiers (a review saw the terminal wrap it mid-word)."""
    source = "dynamodb:orders-table/stream/2026-12-07T06:57:29.804013"
    console = Console(file=io.StringIO(), width=40, color_system=None, soft_wrap=False)
    fields = [("SOURCE", source, tables.BREAKABLE), ("STATE", "Enabled", tables.WHOLE)]
    console.print(tables.record_lines(fields, 40, 14), crop=False)
    lines = console.file.getvalue().splitlines()
    assert all(len(line) <= 40 for line in lines), lines
    assert "".join(line[14:].strip() for line in lines[:-1]) == source and lines[0].startswith("SOURCE")
    assert lines[-1].split() == ["STATE", "Enabled"]


def test_a_uuid_in_a_card_is_never_broken():
    """A UUID too long for the room beside its label goes whole on the line under it (a review copied half a UUID
    from `list` at 45 columns)."""
    uuid = "dfcbfad9-e75f-48b5-9458-6ef415af0afe"
    console = Console(file=io.StringIO(), width=45, color_system=None, soft_wrap=False)
    console.print(tables.record_lines([("UUID", uuid, tables.WHOLE), ("STATE", "Enabled", tables.WHOLE)], 45, 14),
                  crop=False)
    assert console.file.getvalue().splitlines() == ["UUID", uuid, "STATE         Enabled"]
