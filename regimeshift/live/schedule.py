"""``regimeshift schedule``: update -> signal on a cron expression, in-process (APScheduler 3), run after run.

Each evening is one :class:`LiveJob` call. It never raises: a failed update (network, vendor error, locked store)
or signal is logged with the exit status the equivalent command would have had, and the scheduler waits for the
next evening. When only some series failed, nothing is stored that evening (with ``keep_going`` the others are
committed, as ``data update --keep-going`` does) and the log names the failed ones; the signal is still skipped that evening, as for any failed update -- like
``data update && signal`` under cron -- so no decision is taken on a store where a series stopped short.
``schedule.log`` in the live folder has one JSON line per run.

Time comes from APScheduler's ``CronTrigger`` in both modes: :func:`serve` lets APScheduler's blocking scheduler
wait for the fire times in real time; :func:`drive` walks the same trigger's fire times on a test clock, calling
the job directly, so a test can play a week of evenings in seconds.
"""
from __future__ import annotations

import datetime
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regimeshift.core.atomic import atomic_write_text
from regimeshift.core.errors import EnvironmentFailure, RegimeshiftError
from regimeshift.core.locks import folder_lock

SCHEDULE_LOG = "schedule.log"


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday, 1 = Monday) in APScheduler 3's day names.

    APScheduler 3's ``CronTrigger.from_crontab`` passes the numbers through, and its 0 is Monday: "1-5" would
    run Tuesday to Saturday. Numbers, ranges and steps are expanded to names; names pass through."""
    out: list[str] = []
    for part in field.split(","):
        body, _, step_text = part.partition("/")
        if not any(c.isdigit() for c in body) and body != "*":
            out.append(part)  # names (mon-fri) mean the same in both
            continue
        lo, _, hi = body.partition("-")
        first, last = (0, 6) if body == "*" else (int(lo), int(hi) if hi else (6 if step_text else int(lo)))
        if not (0 <= first <= 7 and 0 <= last <= 7):
            raise ValueError(f"day of week {part!r} out of range 0-7")
        step = int(step_text) if step_text else 1
        out.extend(_DAYS[d % 7] for d in range(first, last + 1, step))
    return ",".join(dict.fromkeys(out))


def trigger_for(cron: str, timezone: str | None = None) -> Any:
    """APScheduler's trigger for a five-field crontab expression (crontab's day-of-week numbering); a bad
    expression is one line (exit 2)."""
    import zoneinfo

    from apscheduler.triggers.cron import CronTrigger

    try:  # checked on its own first: an unknown zone is not the cron expression's fault
        zoneinfo.ZoneInfo(timezone or "UTC")
    except (ValueError, LookupError):
        raise RegimeshiftError(f"--timezone: {timezone!r} is not a time zone name like 'America/New_York' or 'UTC'"
                               ) from None
    try:
        fields = cron.split()
        if len(fields) != 5:
            raise ValueError(f"expected 5 fields, got {len(fields)}")
        minute, hour, day, month, dow = fields
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_weekdays(dow),
                           timezone=timezone or "UTC")
    except (ValueError, LookupError) as exc:
        raise RegimeshiftError(f"--cron: {cron!r} is not a crontab expression like '30 22 * * 1-5' ({exc})") from None


@dataclass
class LiveJob:
    """update -> signal for one config; call it with the evening's time."""

    config: Path
    store: Path | None = None
    out: Path | None = None
    holdings: Path | None = None
    min_trade: float = 0.0
    band: float | None = None
    fred_url: str | None = None
    download: Any = None  # the Yahoo download function (tests inject recorded frames)
    fail_stale: bool = False
    wait: float = 600.0  # an evening may wait this long for a lock held by a manual run
    keep_going: bool = False  # store the series that fetched when others fail (default: the evening stores nothing)
    timeout: float = 60.0  # seconds each series' download may take (data update --timeout)

    def __call__(self, now: datetime.datetime | None = None) -> dict[str, Any]:
        from regimeshift.data.store.update import IncompleteUpdate
        from regimeshift.resolve_config import resolve_config
        from regimeshift.store_tasks import run_update, stale_lines, store_of
        from regimeshift.live.signal import run_signal

        now = now or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        record: dict[str, Any] = {"at": now.isoformat(timespec="seconds"), "stage": "config"}
        out_dir = self.out
        try:
            cfg = resolve_config(self.config, None, None, None, None, self.store)
            out_dir = self.out or Path("runs") / f"{cfg.name}-live"
            store = store_of(cfg, None)
            record["stage"] = "update"
            try:
                report = run_update(cfg, store, now, fred_url=self.fred_url, download=self.download,
                                    wait=self.wait, keep_going=self.keep_going, timeout=self.timeout)
            except IncompleteUpdate as err:  # log what was stored (with keep_going) beside the failed series
                record.update(update=err.report.lines(), failed=dict(err.report.failed))
                raise
            record["update"] = report.lines()
            _, stale = stale_lines(store, now.date(), cfg)
            record["stale"] = stale
            if stale and self.fail_stale:
                raise EnvironmentFailure(f"stale series: {', '.join(stale)}")
            record["stage"] = "signal"
            outcome = run_signal(cfg, out_dir, holdings=self.holdings, min_trade=self.min_trade, band=self.band,
                                 wait=self.wait, now=now)
            t = outcome.ticket
            record.update(status="ok", exit=0, as_of=t.as_of, regime=t.regime,
                          fit_id=outcome.entry["fit_id"] if outcome.entry else None,
                          orders=len(outcome.plan.orders) if outcome.plan is not None else None)
            if t.stale and self.fail_stale:
                record.update(status="stale", exit=3, error=t.stale)
        except RegimeshiftError as err:
            record.update(status="failed", exit=3 if isinstance(err, EnvironmentFailure) else 2, error=str(err))
        except Exception as err:  # a bug must not stop the next evening; the traceback goes to the log
            record.update(status="failed", exit=1, error=f"{type(err).__name__}: {err}",
                          traceback=traceback.format_exc(limit=5))
        if out_dir is not None:
            append_log(out_dir, record)
        return record


def append_log(out_dir: Path, record: dict[str, Any]) -> None:
    with folder_lock(out_dir, "the live folder", wait=600.0):
        path = out_dir / SCHEDULE_LOG
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        atomic_write_text(path, old + json.dumps(record, sort_keys=True, default=str) + "\n")


def read_log(out_dir: Path) -> list[dict[str, Any]]:
    path = out_dir / SCHEDULE_LOG
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


def drive(job: Callable[[datetime.datetime], Any], cron: str, start: datetime.datetime, until: datetime.datetime,
          *, before: Callable[[datetime.datetime], None] | None = None, timezone: str = "UTC") -> list[Any]:
    """Run ``job`` at every fire time of ``cron`` after ``start`` up to ``until`` on a test clock (naive times in
    ``timezone``); ``before(t)`` runs first at each fire time (e.g. the vendors publish the day)."""
    import zoneinfo

    trigger = trigger_for(cron, timezone)
    tz = zoneinfo.ZoneInfo(timezone)
    now = start.replace(tzinfo=tz)
    end = until.replace(tzinfo=tz)
    prev = None
    results = []
    while True:
        fire = trigger.get_next_fire_time(prev, now)
        if fire is None or fire > end:
            return results
        naive = fire.replace(tzinfo=None)
        if before is not None:
            before(naive)
        results.append(job(naive))
        prev, now = fire, fire + datetime.timedelta(seconds=1)


def serve(job: Callable[[], Any], cron: str, *, timezone: str | None = None,
          announce: Callable[[str], None] = print) -> None:  # pragma: no cover - blocks in real time
    """Run ``job`` on ``cron`` until interrupted (APScheduler's BlockingScheduler; one run at a time, a run
    missed while the machine slept is run once when it wakes, within an hour)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    trigger = trigger_for(cron, timezone)
    scheduler = BlockingScheduler(timezone=timezone or "UTC")
    scheduler.add_job(job, trigger, max_instances=1, coalesce=True, misfire_grace_time=3600, id="update-signal")
    fire = trigger.get_next_fire_time(None, datetime.datetime.now(datetime.UTC))
    announce(f"scheduled update -> signal on '{cron}' ({timezone or 'UTC'}); next run {fire:%Y-%m-%d %H:%M %Z}")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
