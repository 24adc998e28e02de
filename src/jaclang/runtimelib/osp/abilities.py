"""Ability decorators and the per-class tables that say which abilities fire where."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, TypeVar

FunctionT = TypeVar("FunctionT", bound=Callable[..., Any])

ABILITY_MARK = "__jac_ability__"


class AbilitySpec(NamedTuple):
    """What a decorated method reacts to: ``entry`` or ``exit``, and the types (empty: any)."""

    event: str
    types: tuple[type, ...]


def _ability(event: str, types: tuple[type, ...]) -> Callable[[FunctionT], FunctionT]:
    for kind in types:
        if not isinstance(kind, type):
            raise TypeError(f"an ability's trigger must be a class, not {kind!r}")

    def mark(function: FunctionT) -> FunctionT:
        setattr(function, ABILITY_MARK, AbilitySpec(event, tuple(types)))
        return function

    return mark


def on_entry(*types: type) -> Callable[[FunctionT], FunctionT]:
    """Mark a method as an entry ability (``can act with City | Town entry``; no types: any)."""
    return _ability("entry", types)


def on_exit(*types: type) -> Callable[[FunctionT], FunctionT]:
    """Mark a method as an exit ability (``can act with City exit``; no types: any)."""
    return _ability("exit", types)


class Ability(NamedTuple):
    """One ability of a class: its method and the types that trigger it (empty: any)."""

    function: Callable[[Any], Any]
    types: tuple[type, ...]

    def fires_for(self, other: Any) -> bool:
        """Whether a typed ability is triggered by ``other`` (untyped ones are handled apart)."""
        return bool(self.types) and isinstance(other, self.types)


class AbilityTable(NamedTuple):
    """A class's entry and exit abilities, inherited ones first, in definition order."""

    entries: tuple[Ability, ...]
    exits: tuple[Ability, ...]


_tables: dict[type, AbilityTable] = {}


def ability_table(cls: type) -> AbilityTable:
    """The abilities of ``cls`` (cached): as upstream, a method overriding an inherited
    ability by name keeps the inherited one's place, and new ones follow in order."""
    table = _tables.get(cls)
    if table is None:
        by_event: dict[str, dict[str, Ability]] = {"entry": {}, "exit": {}}
        for klass in reversed(cls.__mro__):
            for name, member in klass.__dict__.items():
                spec = getattr(member, ABILITY_MARK, None)
                if isinstance(spec, AbilitySpec):
                    other_event = "exit" if spec.event == "entry" else "entry"
                    by_event[other_event].pop(name, None)
                    by_event[spec.event][name] = Ability(member, spec.types)
                elif name in by_event["entry"] or name in by_event["exit"]:
                    # overridden by a plain method: no longer an ability
                    by_event["entry"].pop(name, None)
                    by_event["exit"].pop(name, None)
        table = _tables[cls] = AbilityTable(tuple(by_event["entry"].values()), tuple(by_event["exit"].values()))
    return table


class DispatchPlan(NamedTuple):
    """What runs when a walker of one class is on a location of another.

    Each step is ``(function, on_walker)``: called with the walker when
    ``on_walker`` is true, else with the location.
    """

    entries: tuple[tuple[Callable[[Any], Any], bool], ...]
    exits: tuple[tuple[Callable[[Any], Any], bool], ...]


_plans: dict[tuple[type, type], DispatchPlan] = {}


def dispatch_plan(walker_cls: type, location_cls: type) -> DispatchPlan:
    """The abilities that fire, in upstream's order (cached per pair of classes).

    Entry: the walker's abilities typed for the location, the location's untyped
    ones, the location's ones typed for the walker. Exit: the reverse phase order.
    """
    key = (walker_cls, location_cls)
    plan = _plans.get(key)
    if plan is None:
        walker_table, location_table = ability_table(walker_cls), ability_table(location_cls)

        def typed_for(abilities: tuple[Ability, ...], other: type) -> list[Ability]:
            return [ability for ability in abilities if ability.types and issubclass(other, ability.types)]

        def untyped(abilities: tuple[Ability, ...]) -> list[Ability]:
            return [ability for ability in abilities if not ability.types]

        entries = (
            [(a.function, True) for a in typed_for(walker_table.entries, location_cls)]
            + [(a.function, False) for a in untyped(location_table.entries)]
            + [(a.function, False) for a in typed_for(location_table.entries, walker_cls)]
        )
        exits = (
            [(a.function, False) for a in typed_for(location_table.exits, walker_cls)]
            + [(a.function, False) for a in untyped(location_table.exits)]
            + [(a.function, True) for a in typed_for(walker_table.exits, location_cls)]
        )
        plan = _plans[key] = DispatchPlan(tuple(entries), tuple(exits))
    return plan


def untyped_abilities(cls: type, event: str) -> tuple[Callable[[Any], Any], ...]:
    """A walker's untyped ``entry`` (run once at spawn) or ``exit`` (once at the end) abilities."""
    table = ability_table(cls)
    abilities = table.entries if event == "entry" else table.exits
    return tuple(ability.function for ability in abilities if not ability.types)
