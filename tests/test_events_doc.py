"""``docs/EVENTS.md`` names every event class of the domain as ``Aggregate.EventName``.

An event class is a class nested in an aggregate of ``domain/`` (a subclass of ``LedgerAggregate``) that
subclasses ``LedgerAggregate.Event`` and is written in the source. eventsourcing also gives every aggregate
class its own ``Event`` and ``Created`` subclasses; those are never recorded and are not listed, which is why
the classes are taken from the source (``ast``) as well as from the imported modules.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import domain
from domain.envelope import LedgerAggregate

ROOT = Path(__file__).resolve().parents[1]
EVENTS_MD = ROOT / "docs" / "EVENTS.md"


def nested_classes_in_source() -> set[tuple[str, str, str]]:
    """``(module, outer class, nested class)`` for every class written inside a class in ``domain/``."""
    found: set[tuple[str, str, str]] = set()
    for path in (ROOT / "domain").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for outer in tree.body:
            if isinstance(outer, ast.ClassDef):
                for inner in outer.body:
                    if isinstance(inner, ast.ClassDef):
                        found.add((module, outer.name, inner.name))
    return found


def domain_event_classes() -> dict[str, type]:
    """``{"Aggregate.EventName": class}`` for every event class written in an aggregate of ``domain/``."""
    written = nested_classes_in_source()
    events: dict[str, type] = {}
    for info in pkgutil.walk_packages(domain.__path__, "domain."):
        module = importlib.import_module(info.name)
        for aggregate in vars(module).values():
            if not (
                inspect.isclass(aggregate)
                and issubclass(aggregate, LedgerAggregate)
                and aggregate is not LedgerAggregate
                and aggregate.__module__ == module.__name__
            ):
                continue
            for name, value in vars(aggregate).items():
                if (
                    inspect.isclass(value)
                    and issubclass(value, LedgerAggregate.Event)
                    and (module.__name__, aggregate.__name__, name) in written
                ):
                    events[f"{aggregate.__name__}.{name}"] = value
    return events


def test_events_doc_finds_the_event_classes() -> None:
    events = domain_event_classes()
    from domain.member import Member
    from domain.receipt import CommandReceipt
    from domain.transfer_letter import TransferLetter

    assert events["Member.Registered"] is Member.Registered
    assert events["TransferLetter.Issued"] is TransferLetter.Issued
    assert events["CommandReceipt.Recorded"] is CommandReceipt.Recorded
    assert "Member.Event" not in events and "Member.Created" not in events  # made by eventsourcing
    assert not any(name.startswith("LedgerAggregate.") for name in events)
    assert len({cls.__module__ for cls in events.values()}) >= 14


def test_events_doc_names_every_event_class() -> None:
    text = EVENTS_MD.read_text(encoding="utf-8")
    missing = [
        name
        for name in sorted(domain_event_classes())
        if not re.search(rf"(?<![A-Za-z0-9_.]){re.escape(name)}(?![A-Za-z0-9_])", text)
    ]
    assert not missing, f"event classes not documented in docs/EVENTS.md as Aggregate.EventName: {missing}"
