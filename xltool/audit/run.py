"""One audit round: collect inputs, check them in parallel, record, and write every output.

The round is driven by the history database: results are committed in small groups as they
arrive, and the outputs are then built from the database alone (``finalise``). Killing the
audit at any point and running it again therefore resumes the round and produces the same
outputs as one uninterrupted run; files whose bytes (and rules) did not change are never
checked twice.

For a new batch the workers start (and warm up on one workbook) before the files are hashed,
take a few files per task, and the files are hashed as the workers ask for more; the summary
workbook is built in a worker while this process writes the per-unit outputs and the CSV.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xltool.audit.history import DB_NAME, History, Stored
from xltool.audit.inputs import NOT_AUDITED, InputFile, collect, make_workdir, remove_workdir
from xltool.audit.memory import Every, release
from xltool.audit.model import (
    Anomaly, AnomalyKind, AuditOutcome, Changes, Status, Submission, UnitResult,
)
from xltool.audit.pool import Workers, batches, map_unordered
from xltool.audit.roster import Roster, load_roster, norm_name, unit_key
from xltool.audit.worker import (
    STAMP_FILE, check_files, finding_keys, output_names, output_stamp, staging_key,
    write_outputs_unless_gone,
)
from xltool.form.scoring import ScoringConfig
from xltool.i18n import _
from xltool.read.safety import Limits
from xltool.safenames import Names, inside

HASH_LIMIT_FACTOR = 4  # files above 4 × the size limit are refused unread, and not hashed
BATCH = 4  # files per task sent to a worker, at most
PRESTART = 16  # files: start and warm up the workers while the inputs are being hashed
WARM_MAX_BYTES = 1 << 20  # warm up on a workbook of ordinary size (a template is about 110 KB)
STAGING = ".staging"  # per-file outputs the workers wrote, until the round knows which file a unit keeps


@dataclass
class AuditOptions:
    inputs: list[Path]
    out: Path
    roster: Path | None = None
    jobs: int | None = None
    email: bool = False
    previous: Path | None = None
    cfg: ScoringConfig | None = None  # the bureau's settings; None: the defaults (never a workbook's own)
    mail_config: Path | None = None
    dry_run: bool = False
    resend: bool = False
    limits: Limits = field(default_factory=Limits)
    wait: float = 0.0  # seconds to wait for another audit writing the same output folder


class Progress:
    """What the runner reports while it works (the CLI draws a rich progress bar)."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def phase(self, text: str) -> None: ...

    def stop(self) -> None: ...


def rules_key(cfg: ScoringConfig | None, limits: Limits | None = None) -> str:
    """What a stored result depends on besides the file: the code that reads and checks it (any
    change to xltool's form, reader, rules or messages invalidates stored results), the
    language findings are worded in, the scoring settings and the limits a file must keep to."""
    import xltool
    from xltool.i18n import current_locale

    package = Path(xltool.__file__).parent
    code = hashlib.sha256()
    for pattern in ("form/*.py", "form/*.toml", "form/packs/*.toml", "read/*.py", "check/*.py", "numbers.py", "locale/*/LC_MESSAGES/*.po"):
        for path in sorted(package.glob(pattern)):
            code.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    payload = {
        "xltool": xltool.__version__,
        "code": code.hexdigest(),
        "locale": current_locale(),
        # What the bureau stated: the rest is each workbook's form pack's own rule set.
        "scoring": cfg.stated_json() if cfg is not None else "workbook",
        "limits": repr(limits or Limits()),  # what a file may hold before it is refused
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def file_digest(item: InputFile, limits: Limits) -> str:
    if item.size > HASH_LIMIT_FACTOR * limits.max_file_bytes:
        # Refused unread by the safety gate; identified by where and what size it is.
        return "unhashed-" + hashlib.sha256(f"{item.source}|{item.size}|{item.mtime}".encode()).hexdigest()
    digest = hashlib.sha256()
    try:
        with open(item.path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError:
        # Gone or unreadable since it was listed (a network share, a user moving files): the
        # check reports why, as a problem file; the batch goes on.
        return "unread-" + hashlib.sha256(f"{item.source}|{item.size}|{item.mtime}".encode()).hexdigest()
    return digest.hexdigest()


# What the round reads of a stored result's identity header (see worker.check_file).
_HEADER_KEPT = frozenset({"unit", "unit_code", "year", "template_version", "email", "date", "scoring", "form", "blank",
                          "kind", "reason", "message", "stamp", "stamp_source"})
_SHARED = frozenset({"scoring", "form", "template_version", "year"})


# -- the round ------------------------------------------------------------------------------------------

def run_audit(options: AuditOptions, progress: Progress | None = None) -> AuditOutcome:
    """Audit the inputs into options.out; see the module docstring. Raises RosterError or
    PreviousError (translated) before anything is checked when those inputs are unusable, and
    AuditLocked when another audit holds the output folder longer than options.wait."""
    from xltool.audit.lock import AuditLock

    from xltool.form.registry import pinned

    with AuditLock(Path(options.out), wait=options.wait), pinned():  # each form pack resolved once per round
        return _run_audit(options, progress)


def _run_audit(options: AuditOptions, progress: Progress | None = None) -> AuditOutcome:
    from xltool.audit.previous import load_previous

    started = time.perf_counter()
    progress = progress or Progress()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    # The bureau's settings judge every workbook; a workbook's own are only compared (XT021).
    # Unset keys stay unset across the workers, so they take the workbook's form pack's rule set.
    bureau = options.cfg if options.cfg is not None else ScoringConfig()
    roster = load_roster(options.roster) if options.roster else None
    previous = load_previous(options.previous) if options.previous else None
    jobs = max(1, options.jobs or os.cpu_count() or 1)
    key = rules_key(bureau, options.limits)
    cfg_json = bureau.stated_json()
    workdir = make_workdir()  # the folders killed rounds left behind are removed first
    staging = out / STAGING
    history = History(out / DB_NAME)
    workers = Workers(jobs)
    interrupted = True
    try:
        exclude = [out] + ([Path(options.roster)] if options.roster else [])
        collected = collect(options.inputs, workdir, exclude=exclude, limits=options.limits)
        run_options = {"inputs": sorted(str(Path(p).resolve()) for p in options.inputs),
                       "roster": str(Path(options.roster).resolve()) if options.roster else None,
                       "previous": str(Path(options.previous).resolve()) if options.previous else None}
        run_id, _resumed = history.open_run(key, run_options)
        seen = history.seen(run_id)
        if len(collected.files) >= PRESTART:
            first = collected.files[0]
            if history.cached(file_digest(first, options.limits), key) is None:  # a new batch, not a rerun
                sample = next((f for f in collected.files if f.size <= WARM_MAX_BYTES), None)
                workers.start(warm=(str(sample.path), cfg_json) if sample is not None else None)
        files: list[tuple[InputFile, str]] = []
        checked = [0]  # files sent to the workers
        by_task: dict[str, tuple[InputFile, str]] = {}
        progress.phase(_("Reading the inputs"))

        def new_files(known: Callable[[], object]) -> Iterator[tuple]:
            """check_file arguments for each file not recorded in this round nor checked before;
            the others are recorded (or skipped) as they are found, and *known* is called."""
            for item in collected.files:
                sha = file_digest(item, options.limits)
                files.append((item, sha))
                if (item.source, sha) in seen:
                    known()
                    continue
                stored = history.cached(sha, key)
                if stored is not None:
                    history.record(run_id, key, source=item.source, sha256=sha, size=item.size, mtime=item.mtime,
                                   stored=stored, reused=True)
                    known()
                    continue
                by_task[str(item.path)] = (item, sha)
                checked[0] += 1
                yield (str(item.path), item.source, cfg_json, str(staging), options.limits)

        if workers.pool is not None:  # a new batch: the files are hashed as the workers ask for more
            pool = workers.pool
            progress.start(len(collected.files), 0)
            tasks: Iterable[tuple] = new_files(progress.advance)
        else:
            tasks = list(new_files(lambda: None))
            pool = workers.get(len(tasks))
            progress.start(len(files), len(files) - len(tasks))

        trim = Every()

        def on_result(batch: tuple, results: list[tuple[str, dict, str]]) -> None:
            trim.tick(len(results))
            for task, (status, header, body) in zip(batch[0], results):
                item, sha = by_task.pop(task[0])
                if header.get("sha256", sha) != sha:  # rewritten between hashing and checking
                    status, header, body = _changed(item)
                history.record(run_id, key, source=item.source, sha256=sha, size=item.size, mtime=item.mtime,
                               stored=Stored(sha, status, header, body), reused=False)
            progress.advance(len(results))

        # A few files per task when there are many: fewer round trips, the same balance.
        size = max(1, min(BATCH, len(collected.files) // (8 * jobs))) if pool is not None else 1
        map_unordered(check_files, batches(tasks, size), pool, on_result, workers.in_flight)
        history.commit()
        release()
        progress.stop()
        outcome = finalise(history, run_id, key, files, collected.rejected, roster, previous, options, workers, progress,
                           clutter=collected.clutter, workdir=workdir)
        outcome.checked, outcome.reused = checked[0], len(files) - checked[0]
        outcome.seconds = time.perf_counter() - started
        history.finish_run(run_id)
        interrupted = False
        return outcome
    finally:
        workers.stop(interrupted=interrupted)
        if not interrupted and outcome.store is not None:
            outcome.store.detach()  # the reports are read through a connection of its own from now on
        if not interrupted and hasattr(outcome.units, "detach"):
            outcome.units.detach()  # and so are the units
        try:
            history.close()
        except Exception:  # noqa: BLE001 - a failing close must not hide why the round stopped
            if not interrupted:
                raise
        remove_workdir(workdir)


def _changed(item: InputFile) -> tuple[str, dict, str]:
    """The result of a file whose bytes changed while it was being audited: what was checked is
    not what was hashed, so nothing is kept for either (the next run checks it again)."""
    name = item.source.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
    header = {"reason": "changed", "message": _("The file {name} changed while it was being checked; run the audit "
                                                 "again to check what it holds now.").format(name=name)}
    return "unreadable", header, json.dumps(header, ensure_ascii=False)


def finalise(history: History, run_id: int, key: str, files: list[tuple[InputFile, str]], rejected: list,
             roster: Roster | None, previous, options: AuditOptions, workers: Workers,
             progress: Progress, *, clutter: int = 0, workdir: Path | None = None) -> AuditOutcome:
    """Build the outcome from the database and write every output.

    Each unit's stored result is read from the database when its turn comes and reduced at once
    to what the outputs need of it (its report, its dataset row, the figures the summary shows),
    so the round's memory does not grow with every unit's values."""
    from xltool.audit.summary import Dataset, summary_values

    from xltool.audit.reportcodec import finding_dicts, report_from_dict, report_json
    from xltool.audit.reportstore import ReportStore
    from xltool.audit.unitstore import StoredUnits, clear_units, save_unit

    progress.phase(_("Writing the outputs"))
    current = {(item.source, sha): item for item, sha in files}
    submissions: list[Submission] = []
    shared: dict[str, str] = {}  # one copy of each scoring text the headers repeat
    for source, sha, size, mtime, status in history.submissions(run_id):
        item = current.get((source, sha))
        header = history.header(sha, key) if item is not None else None
        if header is None:
            continue
        status = header.pop("_status")
        # Only what the round reads of it (the findings come with the unit's body), texts that
        # recur from unit to unit kept once: a round of 10,000 files holds 10,000 of these.
        header = {k: shared.setdefault(v, v) if type(v) is str and k in _SHARED else v
                  for k, v in header.items() if k in _HEADER_KEPT}
        submissions.append(Submission(source=source, sha256=sha, size=size, mtime=mtime, status=status,
                                      header=header, body=None, path=item.path))
    outcome = resolve(submissions, roster, rejected, run_id)
    del submissions, current  # from here on each unit is let go once it is stored
    dataset = Dataset(outcome)
    # Each unit's report stays in the database (results, or reports when the round changes it):
    # the outputs read it back one unit at a time (UnitResult.stash).
    store = ReportStore(history.path, key, run_id, db=history.db)
    outcome.store = store
    history.clear_reports(run_id)
    outcome.previous_run = history.previous_run(run_id)
    # Each unit, once its outcome is known, is stored in its place and let go (unitstore).
    clear_units(history.db)
    history.clear_round(run_id)
    units, count = outcome.units, len(outcome.units)
    trim = Every()  # each unit's stored body is read and let go: give the memory back now and then
    for position in range(count):
        unit, units[position] = units[position], None
        if unit.submission is not None and unit.submission.readable:
            data = _load_body(history.body(unit.submission.sha256, key), unit)
            if data is not None and (unit.reports or previous is not None):
                report = report_from_dict(data)
                report.path = unit.submission.source
                unit.report = report
                before = len(report.findings)
                if unit.reports:
                    from xltool.word.check import audit_across

                    audit_across(unit, [history.body(r.sha256, key) for r in unit.reports])
                if previous is not None:
                    _cross_year(unit, previous, outcome.cross_counts)
                report = unit.report
                if len(report.findings) != before:  # findings added: this report is the round's own
                    history.save_report(run_id, unit.key, report_json(report))
                    unit.finding_keys = finding_keys(finding_dicts(report))
                    unit.submission.header.pop("stamp", None)  # the worker's stamp was of the report as checked
            if data is not None:
                unit.stash(store)
            dataset.add(unit)
            unit.values = summary_values(unit.values)
        if outcome.previous_run is not None:
            _compare(unit, history.round_unit(outcome.previous_run, unit.key))
        history.add_round_row(run_id, _round_row(unit, key))
        save_unit(history.db, run_id, position, unit)
        trim.tick()
    history.commit()
    release()
    outcome.units = StoredUnits(history.path, run_id, count, store, db=history.db)
    dataset.keep(outcome)
    outcome.files = len(files) + len(rejected)
    outcome.clutter = clutter
    if previous is not None:
        outcome.cross_year = _("compared with last year: {compared} units, {missing} without last year's figures").format(
            compared=outcome.cross_counts[0], missing=outcome.cross_counts[1])
    from xltool.audit.summary import SummaryWriter, csv_name, summary_name, write_csv

    # The summary workbook is built in a worker while the per-unit outputs and the CSV are written here.
    summary = SummaryWriter(outcome, workers.get(len(outcome.units)) if len(outcome.units) >= 100 else None,
                            folder=workdir)
    problems = len(outcome.anomalies)
    _unit_outputs(outcome, history, Path(options.out), workers)
    if len(outcome.anomalies) != problems:  # inputs vanished while their outputs were written
        summary.future = None  # the half built in a worker predates them: build it here
    outcome.outputs["csv"] = write_csv(outcome, Path(options.out) / csv_name())
    outcome.outputs["summary"] = summary.write(Path(options.out) / summary_name())
    if options.email:
        outcome.mail = _email(outcome, options)
    return outcome


def _load_body(text: str | None, unit: UnitResult) -> dict | None:
    """Set the unit's values, counts, status and finding keys from its stored body; its report as
    a dict (None for a blank template, which gets no report)."""
    if unit.submission is not None and unit.submission.blank:
        # Nothing typed: one status, not the template's every required entry as 必须修改.
        unit.status = Status.BLANK
        unit.note = (unit.note + "；" if unit.note else "") + _(
            "The template was returned blank: nothing was filled in.")
        return None
    body = json.loads(text) if text else {}
    data = body.get("report") or {"path": unit.submission.source}  # type: ignore[union-attr]
    findings = data.get("findings") or []
    unit.finding_keys = finding_keys(findings)
    unit.values = body.get("values", {})
    unit.errors = sum(f.get("severity") == "error" for f in findings)
    unit.warnings = sum(f.get("severity") == "warning" for f in findings)
    unit.status = Status.FIX if unit.errors else Status.EXPLAIN if unit.warnings else Status.PASSED
    return data


# -- who submitted what -------------------------------------------------------------------------------------

def _newness(s: Submission) -> tuple:
    """Kept last: a filled workbook before a blank template, then by 填报日期, the file's
    modification time, the name."""
    return (not s.blank, str(s.header.get("date") or ""), s.mtime, s.source)


def resolve(submissions: list[Submission], roster: Roster | None, rejected: list, run_id: int) -> AuditOutcome:
    """Units with their kept workbook, duplicates set aside, files that could not be read."""
    anomalies: list[Anomaly] = []
    readable: dict[str, list[tuple[Submission, object]]] = {}
    unreadable: dict[str, list[tuple[Submission, object]]] = {}
    for s in sorted(submissions, key=lambda s: s.source):
        if s.readable:
            h = s.header
            member = roster.match(h.get("unit_code"), h.get("unit")) if roster else None
            if member is None and roster is not None and not (h.get("unit_code") or h.get("unit")):
                member = roster.guess_from_filename(s.name)  # e.g. a blank template named for its unit
            if member is not None:
                k = member.key
            elif h.get("unit_code") or h.get("unit"):
                k = unit_key(h.get("unit_code"), h.get("unit"))
            else:
                k = "file:" + s.source
            readable.setdefault(k, []).append((s, member))
        else:
            member = roster.guess_from_filename(s.name) if roster else None
            reason = s.header.get("reason", "")
            kind = AnomalyKind.NOT_OURS if reason in ("not_ours", "newer_version") else AnomalyKind.UNREADABLE
            anomalies.append(Anomaly(source=s.source, kind=kind, message=s.header.get("message", ""),
                                     unit=member.name if member else "", code=member.code if member else ""))
            if member is not None:
                unreadable.setdefault(member.key, []).append((s, member))
    for r in rejected:
        member = roster.guess_from_filename(r.source.rsplit("!", 1)[-1]) if roster else None
        kind = AnomalyKind.NOT_AUDITED if r.reason == NOT_AUDITED else AnomalyKind.REJECTED
        anomalies.append(Anomaly(source=r.source, kind=kind, message=r.message,
                                 unit=member.name if member else "", code=member.code if member else ""))
        if member is not None and kind is AnomalyKind.NOT_AUDITED:
            # The unit sent something (a scan, a .doc): it is not 未提交, its file cannot be audited.
            unreadable.setdefault(member.key, []).append((Submission(
                source=r.source, sha256="", size=0, mtime=0.0, status="rejected", header={"message": r.message}), member))
    units: dict[str, UnitResult] = {}
    for k, group in readable.items():
        # A Word report sent beside a workbook is its companion, not a duplicate: checked across.
        reports = [pair for pair in group if pair[0].header.get("kind") == "report"]
        if len(reports) < len(group):
            group = [pair for pair in group if pair not in reports]
        else:
            reports = []
        group.sort(key=lambda pair: _newness(pair[0]))
        kept, member = group[-1]
        h = kept.header
        unit = UnitResult(key=k, unit=member.name if member else (h.get("unit") or ""),
                          code=member.code if member else (h.get("unit_code") or ""),
                          email=(member.email if member and member.email else h.get("email") or ""),
                          department=member.department if member else "", on_roster=member is not None,
                          submission=kept, reports=[r for r, _m in reports])
        units[k] = unit
        for older, _m in group[:-1]:
            if older.sha256 == kept.sha256:
                why = _("the same content as the file kept")
            elif older.blank and not kept.blank:
                why = _("this one is a blank template, the file kept is filled in")
            elif str(older.header.get("date") or "") != str(h.get("date") or ""):
                why = _("the file kept has a later 填报日期 ({date})").format(date=h.get("date"))
            else:
                why = _("the file kept was saved later")
            anomalies.append(Anomaly(source=older.source, kind=AnomalyKind.DUPLICATE, unit=unit.unit, code=unit.code,
                                     kept=kept.source, message=_("This unit submitted more than one workbook; this one "
                                                                 "was set aside: {why}.").format(why=why)))
        if roster is not None and member is None and not (kept.blank and not (h.get("unit") or h.get("unit_code"))):
            anomalies.append(Anomaly(source=kept.source, kind=AnomalyKind.NOT_ON_ROSTER, unit=unit.unit, code=unit.code,
                                     message=_("The unit {unit} (code {code}) in this workbook is not on the roster; it "
                                               "was checked, but check the unit name and code.").format(
                                         unit=unit.unit or "—", code=unit.code or "—")))
    for k, group in unreadable.items():
        if k in units:
            continue
        member = group[0][1]
        units[k] = UnitResult(key=k, unit=member.name, code=member.code, email=member.email,
                              department=member.department, on_roster=True, status=Status.UNREADABLE,
                              note="；".join(s.header.get("message", "") for s, _m in group))
    order = {u.key: i for i, u in enumerate(roster.units)} if roster else {}
    ordered = sorted(units.values(), key=lambda u: (order.get(u.key, len(order)), u.code, norm_name(u.unit), u.key))
    not_submitted = [u for u in roster.units if u.key not in units] if roster else []
    anomalies.sort(key=lambda a: (a.kind.value, a.source))
    year = next((u.submission.header.get("year") for u in ordered if u.submission and u.submission.header.get("year")), None)
    return AuditOutcome(run_id=run_id, year=year, units=ordered, not_submitted=not_submitted, anomalies=anomalies,
                        roster_problems=list(roster.problems) if roster else [])


# -- last year, last round ---------------------------------------------------------------------------------

def _cross_year(unit: UnitResult, previous, counts: list[int]) -> None:
    """Last year's figures of the unit compared with this year's (its findings added);
    *counts*: [units compared, units without last year's figures], counted on."""
    from xltool.audit.crossyear import cross_year_findings
    from xltool.check.checker import sort_findings
    from xltool.form.selfeval import build_form

    if unit.report is None or not unit.report.year:
        return
    last = previous.lookup(unit.code or unit.report.unit_code, unit.unit or unit.report.unit)
    if last is None or (last.year and last.year != unit.report.year - 1):
        counts[1] += 1
        return
    scoring = unit.submission.header.get("scoring") if unit.submission else None
    form = build_form(unit.report.year, ScoringConfig.from_json(scoring) if scoring else None,
                      unit.submission.header.get("form") or None if unit.submission else None)
    found = cross_year_findings(form, unit.values, last.values)
    counts[0] += 1
    if found:
        unit.report.findings = sort_findings(unit.report.findings + found)
        unit.errors, unit.warnings = unit.report.errors, unit.report.warnings
        unit.status = Status.FIX if unit.errors else Status.EXPLAIN if unit.warnings else Status.PASSED


def _findings_of(unit: UnitResult) -> list[dict]:
    if not unit.has_report:
        return []
    if unit.finding_keys is None:  # a unit built elsewhere with its report in memory
        from xltool.audit.reportcodec import finding_dicts

        return finding_keys(finding_dicts(unit.report))
    return unit.finding_keys


def _compare(unit: UnitResult, before: dict | None) -> None:
    """The unit's findings against the last round's (*before*: its row of that round)."""
    if not unit.has_report:
        return
    if before is None:
        unit.changes = Changes(first=True)
        return
    old = {f["key"]: f for f in before["findings"]}
    new = {f["key"]: f for f in _findings_of(unit)}
    unit.changes = Changes(
        fixed=[old[k] for k in old if k not in new],
        new=[new[k] for k in new if k not in old],
        still=[new[k] for k in new if k in old],
    )


def _round_row(unit: UnitResult, key: str) -> dict:
    s = unit.submission
    return {"unit_key": unit.key, "unit": unit.unit, "unit_code": unit.code, "source": s.source if s else None,
            "sha256": s.sha256 if s else None, "rules_key": key, "status": unit.status.value,
            "findings": json.dumps(_findings_of(unit), ensure_ascii=False)}


# -- per-unit outputs --------------------------------------------------------------------------------------

def _unit_outputs(outcome: AuditOutcome, history: History, out: Path, workers: Workers) -> None:
    """units/<code or name>/问题清单.xlsx and the annotated copy, for every unit with findings.

    Files already in place with the current stamp (workbook bytes + findings + xltool version
    + language) are kept; files a worker wrote while checking (in .staging) are moved into
    place when their stamp matches; the rest are written now. Files under units/ that no
    longer belong to any unit are removed, and so is .staging.
    """
    from xltool.audit.reportcodec import report_json

    root = out / "units"
    staging = out / STAGING
    expected: set[str] = set()  # every output's path, as text (a Path is ten times its size)
    tasks = []
    stamps: dict[str, tuple[str, list[Path], UnitResult]] = {}
    folders = Names()  # two units whose names fold to the same folder get _2, _3, ...
    changed: list[UnitResult] = []  # units whose outputs are now known, written back in small groups

    def write_back(unit: UnitResult | None = None) -> None:
        if unit is not None:
            changed.append(unit)
        if changed and (unit is None or len(changed) >= 64):
            _update_units(outcome, changed)
            changed.clear()

    for unit in outcome.units:
        s = unit.submission
        if not unit.has_report or not _findings_of(unit) or s is None or s.path is None:
            continue
        folder = inside(root, folders.take(unit.folder_name, max_length=64))
        paths = [inside(folder, name) for name in output_names(s.source)]
        # The worker stamped the report as it checked it (for this source); else it is read back.
        stamp = s.header.get("stamp") if s.header.get("stamp_source") == s.source else None
        if stamp is None:
            stamp = output_stamp(s.sha256, report_json(unit.report))
        expected.update(map(str, paths))
        unit.outputs = paths
        write_back(unit)
        if all(p.is_file() for p in paths) and history.output_stamp(str(paths[0])) == stamp:
            continue
        staged = staging / staging_key(s.source, s.sha256)
        if _read(staged / STAMP_FILE) == stamp and all((staged / p.name).is_file() for p in paths):
            folder.mkdir(parents=True, exist_ok=True)
            for path in paths:
                os.replace(staged / path.name, path)
            history.set_output_stamp(str(paths[0]), stamp, commit=False)
            continue
        stamps[str(s.path)] = (stamp, paths, unit)
        tasks.append((str(s.path), str(folder), s.source))  # its report rendered when its turn comes
    write_back()

    def on_result(task: tuple, written: object) -> None:
        stamp, paths, unit = stamps.pop(task[0])
        if isinstance(written, str):  # the input vanished after it was checked: a problem file
            outcome.anomalies.append(Anomaly(source=task[3], kind=AnomalyKind.REJECTED, message=written,
                                             unit=unit.unit, code=unit.code))
            unit.note = (unit.note + "；" if unit.note else "") + written
            unit.outputs = [p for p in paths if p.is_file()]
            expected.difference_update(map(str, paths[1:]))
            write_back(unit)
            return
        history.set_output_stamp(str(paths[0]), stamp, commit=False)

    rendered = ((path, report_json(stamps[path][2].report), folder, source) for path, folder, source in tasks)
    map_unordered(write_outputs_unless_gone, rendered, workers.get(len(tasks)) if len(tasks) > 4 else None, on_result,
                  workers.in_flight)
    write_back()
    history.commit()
    if root.is_dir():
        stale = [p for p in root.rglob("*.xlsx") if str(p) not in expected and not p.is_dir()]
        for path in stale:
            path.unlink(missing_ok=True)
        history.forget_outputs(str(p) for p in stale)
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
    shutil.rmtree(staging, ignore_errors=True)
    # Temporary files of an atomic write that was killed halfway (".<name>.<pid>.tmp").
    for leftover in [*out.glob(".*.tmp"), *(root.rglob(".*.tmp") if root.is_dir() else [])]:
        leftover.unlink(missing_ok=True)


def _update_units(outcome: AuditOutcome, units: list[UnitResult]) -> None:
    """Write changed units back where the outcome keeps them (a list built elsewhere holds them already)."""
    update = getattr(outcome.units, "update", None)
    if update is not None:
        update(units)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


# -- mail -----------------------------------------------------------------------------------------------------

def _email(outcome: AuditOutcome, options: AuditOptions) -> dict[str, int]:
    """Each unit's own result, through the outbox (the mail module refuses duplicates)."""
    from xltool.mail.compose import report_attachments
    from xltool.mail.config import load_settings
    from xltool.mail.deliver import deliver_report
    from xltool.mail.errors import MailError

    tally: dict[str, int] = {}
    try:
        settings = load_settings(options.mail_config)
    except MailError as exc:
        outcome.mail_error = exc.message
        return tally
    noted: list[UnitResult] = []  # units whose note the mail changed, written back in small groups
    for unit in outcome.units:
        if unit.status is Status.BLANK:
            status = _("not mailed: the template was returned blank")
            tally[status] = tally.get(status, 0) + 1
            continue
        if not unit.has_report:
            continue
        if options.roster is not None and not unit.on_roster:
            # A workbook from a unit the bureau did not list: its address comes from the workbook itself.
            status = _("not mailed: unit not on the roster")
            tally[status] = tally.get(status, 0) + 1
            continue
        report = unit.report  # read back once for this unit
        before = unit.note
        attachments = report_attachments(report, unit.outputs[0], unit.outputs[1]) if unit.outputs else []
        try:
            # The roster's address as given; a workbook's own 电子邮箱 goes through the capped path.
            from_roster = unit.on_roster and unit.email and unit.email != (report.contact_email or "")
            result = deliver_report(report, attachments, settings, to=unit.email if from_roster else None,
                                    dry_run=options.dry_run, resend=options.resend)
            status = result.status.label
            if result.dropped:
                unit.note = (unit.note + "；" if unit.note else "") + _("not sent to {n} address(es) of the workbook").format(
                    n=len(result.dropped))
        except MailError as exc:
            status = _("not sent")
            unit.note = (unit.note + "；" if unit.note else "") + exc.message
        tally[status] = tally.get(status, 0) + 1
        if unit.note != before:
            noted.append(unit)
        if len(noted) >= 64:
            _update_units(outcome, noted)
            noted.clear()
    _update_units(outcome, noted)
    skipped = (_("not mailed: unit not on the roster"), _("not mailed: the template was returned blank"))
    if settings.host is None and not options.dry_run and any(k not in skipped for k in tally):
        # No server configured: say where the messages wait instead of implying they were sent.
        where = _("no mail server set, the messages wait in {outbox} (xltool mail flush sends them)").format(
            outbox=Path(settings.outbox).resolve())
        outcome.mail_note = where
    return tally
