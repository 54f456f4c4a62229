"""The ``pos`` command. Heavy imports (FastAPI, httpx) happen inside the commands that need them.

Long on purpose: one short function per subcommand, each only parsing its options and calling its layer.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2


def parse_amount(text: str | None) -> int | None:
    """``"128.50"`` (or ``"128,50"``) → 12850 cents, read as everywhere else (:mod:`pos.domain.amounts`)."""
    from pos.domain.amounts import AmountError
    from pos.domain.amounts import parse_amount as read

    try:
        return read(text)
    except AmountError as err:
        raise click.BadParameter(err.message) from None


class ServiceDb(click.ParamType):
    """The service's database: a file path, or a ``postgresql://`` URL (also taken from $POS_DB)."""

    name = "PATH|URL"

    def __init__(self, *, exists: bool) -> None:
        self.exists = exists

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if text.startswith(("postgresql://", "postgres://")):
            return text
        path = Path(text)
        if path.is_dir():
            self.fail(f"{text} is a folder; name the database file", param, ctx)
        if self.exists and not path.is_file():
            self.fail(f"{text} does not exist (pos serve or pos load makes a service database)", param, ctx)
        return text


DB_HELP = "The service's database: a SQLite file or a postgresql:// URL (env POS_DB)."


def fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(package_name="pos")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Counter-side voucher redemption: the counter, the service, and the nightly sync.

    With no command, opens the terminal UI (the same as ``pos ui``)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(ui)


@main.command()
@click.option("--config", type=click.Path(dir_okay=False),
              help="Terminal configuration (default: $POS_CONFIG or ./pos.toml).")
@click.option("--lang", type=click.Choice(["en", "zh"]), help="Language (default: configuration, then the locale).")
@click.option("--camera", help='Camera index, video file or stream URL for the counter ("" = off).')
def ui(config: str | None = None, lang: str | None = None, camera: str | None = None) -> None:
    """The terminal UI: login, the counter, and the back office for managers."""
    from pos.terminal import config as cfgmod

    if not sys.stdin.isatty() or not sys.stdout.isatty():
        fail("the terminal UI needs a terminal; for scripts use pos redeem, pos sync and pos scan")
    try:
        cfg = cfgmod.load(config)
    except cfgmod.ConfigError as exc:
        fail(str(exc))
    from pos.tui import make_app

    app = make_app(cfg, language=lang or cfg.language, camera=camera if camera is not None else cfg.camera)
    app.run()
    if app.return_code:  # the app ended on an error: a supervisor must see it
        sys.exit(app.return_code)


# -- the service --------------------------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option("--db", "db_path", default="pos-service.db", show_default=True, type=ServiceDb(exists=False), envvar="POS_DB",
              help="The service's database: a SQLite file (created when missing) or a postgresql:// URL (env POS_DB).")
@click.option("--no-upgrade", is_flag=True,
              help="Refuse to start on an out-of-date schema instead of upgrading it (run pos db upgrade first).")
@click.option("--fixture", type=click.Path(exists=True, dir_okay=False), help="Load this JSON/TOML fixture first.")
@click.option("--synchronous", type=click.Choice(["full", "normal"]), default="full", show_default=True,
              help="full: every commit survives a power cut; normal: survives a crash of the process only.")
@click.option("--no-group-commit", is_flag=True,
              help="Commit each request on its own (slower; the baseline for scripts/bench_serve.py).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Service processes sharing the database (SQLite serialises their writes; PostgreSQL runs them "
                   "side by side).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"], case_sensitive=False))
@click.option("--log-format", default="json", show_default=True, type=click.Choice(["json", "text"]),
              envvar="POS_LOG_FORMAT", help="json: one JSON object per line on standard error, for a log collector; "
                                            "text: plain lines for a person (env POS_LOG_FORMAT).")
@click.option("--access-log", is_flag=True, help="Log every request line (method, path, status; never headers or bodies).")
@click.option("--smtp", metavar="HOST:PORT", envvar="POS_SMTP",
              help="Deliver coupon pushes through this SMTP server at their scheduled time (env POS_SMTP).")
@click.option("--smtp-from", default="coupons@localhost", show_default=True, envvar="POS_SMTP_FROM")
@click.option("--shop", default="Our shop", show_default=True, envvar="POS_SHOP", help="The shop's name in push e-mails.")
@click.option("--push-every", default=30.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds between looks for due pushes.")
@click.option("--keep-keys", default=48.0, show_default=True, type=click.FloatRange(24, 24 * 366),
              help="Hours an idempotency key answers a retry with its first answer (at least 24).")
@click.option("--single-manager", is_flag=True, envvar="POS_SINGLE_MANAGER",
              help="A shop with one manager: waive four eyes, so a manager may approve a campaign they created or "
                   "edited (each approval's audit entry says so; env POS_SINGLE_MANAGER=1).")
@click.option("--clock-skew", default=300, show_default=True, type=click.IntRange(1, 86400), envvar="POS_CLOCK_SKEW",
              help="Seconds a till's clock may differ from its anchor (last contact + monotonic time) before an "
                   "offline redemption is placed at the anchored time and flagged.")
def serve(host: str, port: int, db_path: str, no_upgrade: bool, fixture: str | None, synchronous: str,
          no_group_commit: bool, workers: int, log_level: str, log_format: str, access_log: bool, smtp: str | None,
          smtp_from: str, shop: str, push_every: float, keep_keys: float, single_manager: bool, clock_skew: int) -> None:
    """Run the redemption service (HTTP API; OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from pos.service import logs
    from pos.service.admin import FixtureError, load_fixture, read_fixture
    from pos.service.api import create_app
    from pos.service.engine import EngineError, describe, is_postgres
    from pos.service.schema import open_db

    try:  # the schema in place before anything else (and before several workers race to create it)
        if not is_postgres(db_path):
            Path(db_path).resolve().parent.mkdir(parents=True, exist_ok=True)
            db_path = str(Path(db_path).resolve())
        open_db(db_path, upgrade=not no_upgrade).close()
    except (OSError, sqlite3.Error, EngineError) as exc:
        fail(f"cannot open the service database {describe(db_path)}: {exc}")
    if fixture:
        db = open_db(db_path)
        try:
            counts = load_fixture(db, read_fixture(fixture))
        except FixtureError as exc:
            fail(str(exc))
        finally:
            db.close()
        logs.announce(f"loaded {fixture}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v), form=log_format)
    logs.announce(f"http://{host}:{port} (database {describe(db_path)}, {workers} process(es))", form=log_format)
    if single_manager:
        logs.announce("four eyes waived (--single-manager): a manager may approve their own campaign", form=log_format)
    from pos.service.pushes import Smtp

    mailer = Smtp.parse(smtp, sender=smtp_from, shop=shop) if smtp else None
    if workers == 1:
        app = create_app(db_path, synchronous=synchronous.upper(), group_commit=not no_group_commit, smtp=mailer,
                         push_every=push_every, shop=shop, keep_keys=timedelta(hours=keep_keys), upgrade=not no_upgrade,
                         single_manager=single_manager, clock_skew=timedelta(seconds=clock_skew))
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log,
                    log_config=logs.config(log_level, form=log_format))
        return
    os.environ.update(POS_SERVICE_DB=db_path, POS_SERVICE_SYNCHRONOUS=synchronous.upper(),
                      POS_SERVICE_UPGRADE="0" if no_upgrade else "1",
                      POS_SERVICE_GROUP_COMMIT="0" if no_group_commit else "1", POS_SHOP=shop, POS_SMTP_FROM=smtp_from,
                      POS_PUSH_EVERY=str(push_every), POS_KEEP_KEYS_HOURS=str(keep_keys),
                      POS_SINGLE_MANAGER="1" if single_manager else "0", POS_CLOCK_SKEW=str(clock_skew),
                      **({"POS_SMTP": smtp} if smtp else {}))
    # A worker busy with a night's uploads may answer the supervisor's ping late; killing it would lose the
    # requests it is carrying, so it gets a minute, not uvicorn's 5 seconds.
    uvicorn.run("pos.service.api:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level=log_level, access_log=access_log, timeout_worker_healthcheck=60,
                log_config=logs.config(log_level, form=log_format))


@main.group("db")
def db_group() -> None:
    """The service's database: schema upgrades, and moving a shop to PostgreSQL."""


@db_group.command("upgrade")
@click.option("--db", "db_path", default="pos-service.db", show_default=True, type=ServiceDb(exists=True), envvar="POS_DB",
              help=DB_HELP)
@click.option("--check", is_flag=True, help="Only say whether an upgrade is needed (exit 1 if it is).")
def db_upgrade(db_path: str, check: bool) -> None:
    """Bring the schema up to date (each step once, in its own transaction; safe to run again)."""
    from pos.service import migrations
    from pos.service.engine import EngineError, connect, describe

    try:
        db = connect(db_path)
        try:
            have = migrations.check(db)
            if check:
                click.echo(f"{describe(db_path)}: schema {have}, this pos: {migrations.LATEST}")
                sys.exit(0 if have == migrations.LATEST else EXIT_REFUSED)
            steps = migrations.upgrade(db, progress=lambda s: click.echo(f"applying {s.version}: {s.name} …", err=True))
        finally:
            db.close()
    except (EngineError, sqlite3.Error) as exc:
        fail(str(exc))
    click.echo(f"{describe(db_path)}: schema {migrations.LATEST}" + (f" ({len(steps)} step(s) applied)" if steps
                                                                     else " (already up to date)"))


@db_group.command("copy")
@click.argument("source", type=ServiceDb(exists=True))
@click.argument("target", type=ServiceDb(exists=False))
def db_copy(source: str, target: str) -> None:
    """Copy a shop's SQLite service database SOURCE into an empty PostgreSQL database TARGET, then verify
    every table by row count and checksum. SOURCE may keep serving: the copy is one moment of it."""
    from pos.service.engine import EngineError, PgDb, connect, describe, is_postgres
    from pos.service.schema import open_db
    from pos.service.transfer import copy

    if is_postgres(source) or not is_postgres(target):
        fail("pos db copy SQLITE_FILE postgresql://…: from a SQLite file into a PostgreSQL database")
    try:
        src = connect(source)
        dst = open_db(target)  # the schema made (or checked) first
        assert isinstance(dst, PgDb)
        try:
            reports = copy(src, dst, progress=lambda t, n: click.echo(f"  {t}: {n} row(s) copied", err=True))
        finally:
            src.close()
            dst.close()
    except (EngineError, sqlite3.Error) as exc:
        fail(str(exc))
    except Exception as exc:  # the driver's errors (psycopg), named for the operator
        fail(f"{exc.__class__.__name__}: {exc}")
    for r in reports:
        click.echo(f"{r.table:<12} {r.rows:>9} rows  {r.checksum[:16]}  {'same' if r.same else 'DIFFERENT'}")
    if not all(r.same for r in reports):
        fail(f"the copy in {describe(target)} differs from {source}: do not switch to it")
    click.echo(f"copied {sum(r.rows for r in reports)} rows into {describe(target)}; every table verified")


@main.group()
def push() -> None:
    """Coupon pushes: deliver the due ones (the service does this itself when started with --smtp)."""


@push.command("deliver")
@click.option("--db", "db_path", default="pos-service.db", show_default=True, type=ServiceDb(exists=True), envvar="POS_DB",
              help=DB_HELP)
@click.option("--smtp", metavar="HOST:PORT", required=True, envvar="POS_SMTP")
@click.option("--smtp-from", default="coupons@localhost", show_default=True, envvar="POS_SMTP_FROM")
@click.option("--shop", default="Our shop", show_default=True, envvar="POS_SHOP")
@click.option("--at", "at", default=None, help="Deliver what is due as of this ISO time (default: now).")
@click.option("--json", "as_json", is_flag=True)
def push_deliver(db_path: str, smtp: str, smtp_from: str, shop: str, at: str | None, as_json: bool) -> None:
    """Send every coupon push that is due, once; for a cron job when the service runs without --smtp."""
    from pos.domain import parse_time
    from pos.service.ledger import guarded
    from pos.service.pushes import Smtp, deliver
    from pos.service.schema import open_db

    try:
        now = parse_time(at) if at else datetime.now(UTC)
    except ValueError:
        fail(f"--at {at!r} is not an ISO time such as 2026-11-24T10:00:00+08:00")
    db = open_db(db_path)

    def submit(fn: Any) -> Any:
        with db.atomic():
            return guarded(fn, now)(db)

    try:
        done = deliver(submit, Smtp.parse(smtp, sender=smtp_from, shop=shop), now)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps({"pushes": done}))
    else:
        for d in done:
            click.echo(f"push {d['id']}: " + (d["error"] if "error" in d else f"{d['sent']} sent, {d['skipped']} skipped"))
        if not done:
            click.echo("no push is due")
    if any("error" in d for d in done):
        sys.exit(1)


@main.command()
@click.argument("fixture", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", "db_path", default="pos-service.db", show_default=True, type=ServiceDb(exists=False), envvar="POS_DB",
              help=DB_HELP)
def load(fixture: str, db_path: str) -> None:
    """Load stores, staff, verifiers, campaigns, vouchers and terminals from a JSON or TOML file."""
    from pos.service.admin import FixtureError, load_fixture, read_fixture
    from pos.service.schema import open_db

    db = open_db(db_path)
    try:
        counts = load_fixture(db, read_fixture(fixture))
    except FixtureError as exc:
        fail(str(exc))
    finally:
        db.close()
    click.echo("loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))


@main.group()
def vouchers() -> None:
    """Issue and revoke vouchers (on the service's database)."""


@vouchers.command("issue")
@click.argument("campaign")
@click.option("-n", "--count", default=1, show_default=True, type=click.IntRange(1, 3_000_000))
@click.option("--customer", help="The customer the vouchers are issued to (for per-customer limits).")
@click.option("--db", "db_path", default="pos-service.db", show_default=True, type=ServiceDb(exists=True), envvar="POS_DB",
              help=DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per voucher, with its signed QR payload.")
def vouchers_issue(campaign: str, count: int, customer: str | None, db_path: str, as_json: bool) -> None:
    """Issue COUNT vouchers for CAMPAIGN and print their codes (and QR payloads with --json)."""
    from pos.domain import display
    from pos.service.admin import FixtureError, issue_vouchers, voucher_payload
    from pos.service.schema import open_db

    db = open_db(db_path)
    try:
        codes = issue_vouchers(db, campaign, count=count, customer_id=customer)
        for code in codes:
            if as_json:
                click.echo(json.dumps({"code": code, "display": display(code), "payload": voucher_payload(db, code)}))
            else:
                click.echo(display(code))
    except FixtureError as exc:
        fail(str(exc))
    finally:
        db.close()


@vouchers.command("export")
@click.argument("campaign")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the images.")
@click.option("--db", "db_path", default="pos-service.db", show_default=True, type=ServiceDb(exists=True), envvar="POS_DB",
              help=DB_HELP)
@click.option("--only-unused", is_flag=True, help="Leave out vouchers already redeemed or revoked.")
def vouchers_export(campaign: str, out_dir: str, db_path: str, only_unused: bool) -> None:
    """Write each voucher of CAMPAIGN as a QR image (PNG) and a printable sheet (sheet.html)."""
    from pos.service.printing import export_vouchers
    from pos.service.schema import open_db

    db = open_db(db_path)
    try:
        n = export_vouchers(db, campaign, Path(out_dir), only_unused=only_unused)
    except KeyError as exc:
        fail(str(exc.args[0]))
    finally:
        db.close()
    click.echo(f"{n} voucher(s) written to {out_dir}/ (print sheet.html)")


@vouchers.command("revoke")
@click.argument("code")
@click.option("--db", "db_path", default="pos-service.db", show_default=True, type=ServiceDb(exists=True), envvar="POS_DB",
              help=DB_HELP)
def vouchers_revoke(code: str, db_path: str) -> None:
    """Withdraw a voucher; terminals learn of it at their next catalog pull."""
    from pos.service.admin import FixtureError, revoke_voucher
    from pos.service.schema import open_db

    db = open_db(db_path)
    try:
        revoke_voucher(db, code)
    except (FixtureError, ValueError) as exc:
        fail(str(exc))
    finally:
        db.close()
    click.echo(f"revoked {code}")


@main.group()
def terminals() -> None:
    """Register terminals with the service."""


@terminals.command("add")
@click.argument("terminal_id")
@click.option("--store", "store_id", required=True)
@click.option("--db", "db_path", default="pos-service.db", show_default=True, type=ServiceDb(exists=True), envvar="POS_DB",
              help=DB_HELP)
def terminals_add(terminal_id: str, store_id: str, db_path: str) -> None:
    """Register TERMINAL_ID for a store and print its token (shown once; only its hash is stored)."""
    from pos.service.admin import FixtureError, add_terminal
    from pos.service.schema import open_db

    db = open_db(db_path)
    try:
        click.echo(add_terminal(db, terminal_id, store_id))
    except FixtureError as exc:
        fail(str(exc))
    finally:
        db.close()


# -- the terminal ---------------------------------------------------------------------------------------
def _terminal(config: str | None) -> tuple[Any, Any, Any]:
    from pos.terminal import config as cfgmod
    from pos.terminal.endpoint import Endpoint
    from pos.terminal.localdb import LocalDB

    try:
        cfg = cfgmod.load(config)
    except cfgmod.ConfigError as exc:
        fail(str(exc))
    return cfg, LocalDB(cfg.database), Endpoint(cfg.service_url, cfg.token, timeout=cfg.timeout)


def _staff(cfg: Any, staff: str | None) -> str:
    chosen = staff or cfg.staff_id
    if not chosen:
        fail("say who is at the counter: --staff ID (or staff_id in the terminal configuration)")
    return chosen


config_option = click.option("--config", type=click.Path(dir_okay=False),
                             help="Terminal configuration (default: $POS_CONFIG or ./pos.toml).")


@main.command()
@click.argument("code")
@click.option("--amount", help="Basket amount, e.g. 128.50, when the voucher's rules depend on it.")
@click.option("--staff", help="Who is verifying (default: staff_id from the configuration).")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def redeem(code: str, amount: str | None, staff: str | None, config: str | None, as_json: bool) -> None:
    """Redeem a voucher by its CODE or scanned QR payload. Exit 0 accepted, 1 refused, 2 error."""
    from pos.terminal.counter import Counter
    from pos.terminal.endpoint import EndpointError, Refused
    from pos.terminal.sync import recover

    cents = parse_amount(amount)
    cfg, db, endpoint = _terminal(config)
    staff_id = _staff(cfg, staff)
    try:
        recover(db, endpoint)  # anything a crash left unsettled, before this scan
    except EndpointError:
        pass
    counter = Counter(db, endpoint, store_id=cfg.store_id, terminal_id=cfg.terminal_id, budget=cfg.timeout)
    try:
        decision = counter.decide(code, staff_id, cents)
    except Refused as err:
        fail(f"the service refused this terminal's request: {err.message} [{err.code}]")
    verdict = decision.verdict
    if as_json:
        click.echo(json.dumps(verdict.to_dict()))
    else:
        _print_verdict(verdict)
    sys.stdout.flush()
    counter.shown(decision.entry)  # printed: not to be shown again after a restart
    db.close()
    sys.exit(EXIT_OK if verdict.accepted else EXIT_REFUSED)


def _print_verdict(verdict: Any) -> None:
    from pos.domain import display, money

    colour = "green" if verdict.accepted else "red"
    head = "ACCEPTED" if verdict.accepted else "REFUSED"
    where = " (offline)" if verdict.offline else ""
    click.secho(f"{head}{where} [{verdict.reason}]", fg=colour, bold=True)
    click.echo(verdict.message)
    if verdict.code:
        click.echo(f"voucher {display(verdict.code)}" + (f", campaign {verdict.campaign_id}" if verdict.campaign_id else ""))
    if verdict.accepted:
        click.echo(f"discount {money(verdict.discount)}")


@main.command()
@click.argument("code")
@click.option("--staff", help="Who is undoing it (default: staff_id from the configuration).")
@config_option
def cancel(code: str, staff: str | None, config: str | None) -> None:
    """Undo this terminal's redemption of CODE (or of a redemption nonce) inside the cancel window."""
    from pos.terminal.counter import CancelError, Counter

    cfg, db, endpoint = _terminal(config)
    counter = Counter(db, endpoint, store_id=cfg.store_id, terminal_id=cfg.terminal_id, budget=cfg.timeout)
    try:
        undo = counter.cancel(code, _staff(cfg, staff))
    except CancelError as exc:
        click.secho(f"not undone: {exc}", fg="red", err=True)
        sys.exit(EXIT_REFUSED)
    click.secho("undone" + (" (the service hears of it at the next sync)" if undo.queued else ""), fg="green")


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of progress.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 2000))
@click.option("--wait", default=600.0, show_default=True, type=click.FloatRange(0, 86400),
              help="Seconds to wait for a sync of this terminal that is already running (the UI's, say).")
def sync(config: str | None, as_json: bool, batch_size: int, wait: float) -> None:
    """Upload the outbox exactly once, then pull the catalog. Exit 0 clean, 1 conflicts, 2 failed."""
    from functools import partial

    from pos.terminal.sync import sync as sync_terminal

    cfg, db, endpoint = _terminal(config)
    run_sync = partial(sync_terminal, wait=wait)
    show = sys.stderr.isatty() and not as_json
    if show:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=Console(stderr=True)) as bar:
            tasks: dict[str, Any] = {}

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task("uploading outbox" if phase == "upload" else "pulling catalog", total=total)
                bar.update(tasks[phase], completed=done, total=total)

            report = run_sync(db, endpoint, cfg.store_id, batch_size=batch_size, progress=progress)
    else:
        report = run_sync(db, endpoint, cfg.store_id, batch_size=batch_size)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        up = ", ".join(f"{n} {k}" for k, n in sorted(report.results.items())) or "nothing to upload"
        click.echo(f"uploaded: {up}; catalog: {report.pulled} rows (cursor {report.cursor})")
        for c in report.conflicts:
            click.secho(f"conflict {c['nonce']}: {c['reason']}: {c['message']}", fg="yellow")
        if report.error:
            click.secho(f"sync failed: {report.error}", fg="red", err=True)
    sys.exit(EXIT_ERROR if report.error else EXIT_REFUSED if not report.ok else EXIT_OK)


@main.command()
@config_option
@click.option("--all", "everything", is_flag=True,
              help="Every item the outbox has held, with what the service answered, not only what waits.")
@click.option("--json", "as_json", is_flag=True)
def outbox(config: str | None, everything: bool, as_json: bool) -> None:
    """Show the outbox item by item (time, state, kind, code), when this terminal last synced, and the conflicts
    of past uploads."""
    from pos.terminal import config as cfgmod
    from pos.terminal.localdb import LocalDB

    try:
        cfg = cfgmod.load(config)
    except cfgmod.ConfigError as exc:
        fail(str(exc))
    from pos.domain import CodeError, display, money, parse_time, read_input
    from pos.domain.model import local_text

    def voucher(raw: str | None) -> str | None:  # a typed code or a scanned QR payload: the voucher's code
        try:
            return read_input(raw)[0] if raw else None
        except CodeError:
            return raw

    db = LocalDB(cfg.database)
    try:
        counts = db.outbox_counts()
        listed = db.outbox_items(limit=100_000, answered=everything)
        conflicts = list(db.db.query("SELECT nonce, code, reason, message, recorded_at FROM conflicts ORDER BY recorded_at"))
        here = db.store_zone(cfg.store_id)  # times on the store's clock
        last = db.last_sync()
    finally:
        db.close()
    items = []
    for w in listed:
        body = json.loads(w["body"])
        code = voucher(body.get("code")) if w["kind"] == "redeem" else w["target_code"]
        items.append({"nonce": w["nonce"], "kind": w["kind"], "state": w["state"], "code": code,
                      "amount": body.get("amount"), "staff_id": body.get("staff_id"), "created_at": w["created_at"],
                      "answered_at": w["updated_at"] if w["state"] not in ("pending", "sending") else None})
    if as_json:
        waiting = [i for i in items if i["state"] in ("pending", "sending")]
        click.echo(json.dumps({"outbox": counts, "waiting": waiting, "items": items, "last_sync": last,
                               "conflicts": conflicts}))
        return
    synced = local_text(parse_time(last), here) if last else "never"
    click.echo("outbox: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "empty") + f"; last sync: {synced}")
    shown = {"pending": "waiting"}
    for i in items:  # in the order pos sync uploads them
        amount = f"  {money(i['amount'])}" if i["amount"] is not None else ""
        click.echo(f"{local_text(parse_time(i['created_at']), here)}  {shown.get(i['state'], i['state']):<9} "
                   f"{i['kind']:<6} {display(i['code']) if i['code'] else '?'}{amount}  ({i['staff_id']}, {i['nonce']})")
    for c in conflicts:
        click.echo(f"conflict {c['nonce']} {c['code']}: {c['reason']}: {c['message']}")


@main.command()
@click.option("--image", type=click.Path(dir_okay=False), help="A picture file.")
@click.option("--video", type=click.Path(dir_okay=False), help="A video file.")
@click.option("--camera", type=int, help="A camera by index (0 is the first).")
@click.option("--url", help="A stream URL (RTSP or HTTP), as IP cameras give.")
@click.option("--decoder", type=click.Choice(["pipeline", "zxing-cpp", "pyzbar", "opencv"]), default="pipeline",
              show_default=True)
@click.option("--window", default=3.0, show_default=True, help="Seconds before the same code counts again.")
@click.option("--seconds", type=float, help="Stop a camera or stream after this long.")
def scan(image: str | None, video: str | None, camera: int | None, url: str | None, decoder: str, window: float,
         seconds: float | None) -> None:
    """Print each voucher code read, once, one per line; exit 1 when none was found (a camera check)."""
    import time

    from pos.scanner import decoders as dec
    from pos.scanner.events import Ambiguous, events
    from pos.scanner.sources import SourceError, frames

    chosen = [x for x in (image, video, url) if x is not None] + ([camera] if camera is not None else [])
    if len(chosen) != 1:
        fail("give exactly one of --image, --video, --camera, --url")
    source = chosen[0]
    try:
        reader = dec.Pipeline() if decoder == "pipeline" else dec.available()[decoder]()
    except KeyError:
        fail(f"the {decoder} decoder is not installed here (pyzbar needs the libzbar0 package)")
    deadline = time.monotonic() + seconds if seconds else None

    def timed(stream: Any) -> Any:
        for frame in stream:
            yield frame
            if deadline and time.monotonic() > deadline:
                return

    found = 0
    try:
        for event in events(timed(frames(source)), reader, window=window):
            if isinstance(event, Ambiguous):
                click.secho(f"frame {event.frame}: {len(event.texts)} codes at once; show one at a time", err=True,
                            fg="yellow")
                continue
            found += 1
            click.echo(event.text)
    except SourceError as exc:
        fail(str(exc))
    except KeyboardInterrupt:  # Ctrl-C ends a camera check; the answer is what was read so far
        pass
    sys.exit(EXIT_OK if found else EXIT_REFUSED)


@main.command()
@click.option("--dir", "workdir", type=click.Path(file_okay=False), default=".pos-demo", show_default=True,
              help="Where the demo keeps its databases (replaced on each run).")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Service port (default: any free loopback port).")
@click.option("--walk", is_flag=True, help="Walk through every kind of verdict in a script instead of opening the UI "
                                           "(the default when there is no terminal).")
@click.option("--lang", type=click.Choice(["en", "zh"]), help="Language of the UI and of the walk (default: from the locale).")
@click.option("--camera", help="Camera index, video file or stream URL for the counter (default: off; F8 = camera 0).")
@click.option("--postgres", is_flag=True, help="Run the shop's service as two processes on a PostgreSQL server of the "
                                               "demo's own (needs apt-get install postgresql) instead of a SQLite file.")
def demo(workdir: str, port: int, walk: bool, lang: str | None, camera: str | None, postgres: bool) -> None:
    """Demo data, a local service on loopback, and the terminal UI logged in at the counter."""
    from pos.demo import run_demo, run_ui

    if walk or not (sys.stdin.isatty() and sys.stdout.isatty()):
        sys.exit(run_demo(Path(workdir), port=port, postgres=postgres, language=lang))
    sys.exit(run_ui(Path(workdir), port=port, language=lang, camera=camera, postgres=postgres))


if __name__ == "__main__":
    main()
