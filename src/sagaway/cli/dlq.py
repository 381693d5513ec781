"""``sagaway dlq list|show|redrive``: the dead-letter queues an operator works from.

Redrive marks the message and writes a ``DeadLetterRedriven`` event to the same database's
outbox in one transaction; the running system's rule on that event resumes the work (the
shop resumes the saga at the parked step). On the shop's workdir the command also sees the
resumed sagas through, running the shop's engine itself when none is running (docs/shop.md).
This is our own mechanism, not the engine's
RedriveExecution: a parked saga ended on purpose (``NeedsReview``) and resumes as a new
execution that starts at the parked step with the saved document, re-running nothing that
succeeded.

``--shop-db URL [--shop-schema BASE]`` points the commands at a shop on PostgreSQL (its
orders schema's per-step queues, :mod:`sagaway.cli.shop_db`); redrive then goes through
``shop.operator`` as the console does: a running cluster worker resumes the saga, and with
--wait this process joins the cluster until the resumed sagas end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sagaway.cli import app
from sagaway.cli.shop_db import SHOP_DB_HELP, SHOP_SCHEMA_HELP, fail, shop_on_postgres
from sagaway.messaging.stores import DeadLetterStore, open_dead_letters
from sagaway.store.sqlite import path_from_url

if TYPE_CHECKING:
    from shop.config import ShopConfig
    from shop.outbox import DeadLetters

dlq_app = typer.Typer(help="Dead-letter queues: list, show and redrive parked messages.")
app.add_typer(dlq_app, name="dlq")

DB_HELP = (
    "The database holding the queues (the shop's: WORKDIR/orders.db; a server's bus: "
    "x-events.db beside its x.db, or its postgresql:// database)."
)


SHOP_DB = typer.Option(None, "--shop-db", help=SHOP_DB_HELP)
SHOP_SCHEMA = typer.Option(None, "--shop-schema", help=SHOP_SCHEMA_HELP)


def _shop(shop_db: str | None, schema: str | None, others: list[object]) -> ShopConfig | None:
    """The shop on PostgreSQL the command is pointed at, if any."""
    if shop_db is None:
        if schema is not None:
            raise fail("--shop-schema goes with --shop-db")
        return None
    if any(other is not None for other in others):
        raise fail("--shop-db replaces --db and --workdir: give one of them")
    return shop_on_postgres(shop_db, schema)


def _letters(
    db: str | None, workdir: Path | None, shop: ShopConfig | None
) -> DeadLetterStore | DeadLetters:
    if shop is None:
        return _queue(db, workdir)
    from shop.outbox import DeadLetters

    return DeadLetters(shop.url("orders"))


def _queue(db: str | None, workdir: Path | None) -> DeadLetterStore:
    """The queues in an existing database: a mistyped --db or --workdir is an error, not
    a new empty database reporting 0 messages."""
    if db is None:
        db = f"sqlite:///{(workdir or Path('sagaway-demo')) / 'orders.db'}"
    path = path_from_url(db)
    is_sqlite = db.startswith("sqlite:") or "://" not in db
    if is_sqlite and path != ":memory:" and not Path(path).is_file():
        typer.echo(f"error: no database at {path} (check --db or --workdir)", err=True)
        raise typer.Exit(2)
    return open_dead_letters(db)  # PostgreSQL: the cluster's bus_dead_letters


@dlq_app.command("list")
def list_(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    workdir: Path | None = typer.Option(None, "--workdir", help="The demo's working directory."),  # noqa: B008
    queue: str | None = typer.Option(None, "--queue"),
    all_: bool = typer.Option(False, "--all", help="Include redriven messages."),
    shop_db: str | None = SHOP_DB,
    shop_schema: str | None = SHOP_SCHEMA,
) -> None:
    """One line per message: id, queue, error, message id. A shop on PostgreSQL:
    --shop-db URL [--shop-schema BASE]."""
    shop = _shop(shop_db, shop_schema, [db, workdir])
    letters = _letters(db, workdir, shop).list(queue, include_redriven=all_)
    for letter in letters:
        mark = " (redriven)" if letter.redriven else ""
        typer.echo(f"{letter.id}\t{letter.queue}\t{letter.error}\t{letter.message_id}{mark}")
    typer.echo(f"{len(letters)} message(s)")


@dlq_app.command()
def show(
    letter_id: int,
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    workdir: Path | None = typer.Option(None, "--workdir"),  # noqa: B008
    shop_db: str | None = SHOP_DB,
    shop_schema: str | None = SHOP_SCHEMA,
) -> None:
    """The message as JSON."""
    shop = _shop(shop_db, shop_schema, [db, workdir])
    letter = _letters(db, workdir, shop).get(letter_id)
    if letter is None:
        typer.echo(f"no dead letter {letter_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(letter.to_json(), indent=2))


@dlq_app.command()
def redrive(
    letter_ids: list[int] = typer.Argument(None),  # noqa: B008
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    workdir: Path | None = typer.Option(None, "--workdir"),  # noqa: B008
    all_: bool = typer.Option(False, "--all", help="Redrive every waiting message."),
    queue: str | None = typer.Option(None, "--queue", help="With --all: only this queue."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Shop: see the sagas through."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for the sagas."),
    shop_db: str | None = SHOP_DB,
    shop_schema: str | None = SHOP_SCHEMA,
) -> None:
    """Resume parked messages. On the shop's workdir (no --db) this sees the resumed sagas
    through: a running engine picks them up, otherwise they run here, with faults off. On a
    shop on PostgreSQL (--shop-db URL [--shop-schema BASE]) the cluster's workers resume
    them; with --wait this process joins the cluster until the orders are settled."""
    shop = _shop(shop_db, shop_schema, [db, workdir])
    dlq = _letters(db, workdir, shop)
    ids = [letter.id for letter in dlq.list(queue)] if all_ else list(letter_ids or [])
    dlq.close()
    if not ids:
        typer.echo("nothing to redrive")
        return
    if (db is None or shop is not None) and wait:
        _redrive_shop(shop or _sqlite_shop(workdir or Path("sagaway-demo")), ids, timeout)
        return
    dlq = _letters(db, workdir, shop)
    for letter_id in ids:
        try:
            letter = dlq.redrive(letter_id)
        except (KeyError, ValueError) as exc:
            typer.echo(f"{letter_id}: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"{letter_id}\t{letter.queue}\tredriven")


def _sqlite_shop(workdir: Path) -> ShopConfig:
    # The shop is an application on top of sagaway: imported only for its own workdir.
    from shop.config import ShopConfig

    return ShopConfig(workdir=workdir)


def _redrive_shop(config: ShopConfig, ids: list[int], timeout: float) -> None:
    import asyncio

    from shop.operator import redrive
    from shop.secrets import SecretError

    try:
        results = asyncio.run(redrive(config, ids, timeout=timeout))
    except SecretError as exc:  # the shop's steps call its third parties: keys are a setting
        typer.echo(f"cannot redrive: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (KeyError, ValueError) as exc:
        typer.echo(f"cannot redrive: {exc}", err=True)
        raise typer.Exit(1) from exc
    for r in results:
        typer.echo(f"{r.letter_id}\t{r.queue}\t{r.order_id}\t{r.execution}\t"
                   f"{r.execution_status}\t{r.order_status}")  # fmt: skip
    if any(r.execution_status == "RUNNING" for r in results):
        typer.echo(f"some resumed sagas were still running after {timeout:.0f} s", err=True)
        raise typer.Exit(2)
