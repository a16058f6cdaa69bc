"""Resources configured in a location's YAML, their values from `{{ env.X }}`.

A resource class holds its fields' defaults and limits, once. A component field annotated with
`from_yaml(ResourceClass)` takes a mapping of those fields to values, usually `"{{ env.X }}"`
(listed under the document's `requirements: env:`, so that `dg list env` shows them): a variable
unset or blank leaves the field to the resource's default, and a bad value fails the location's
load with an error naming the field and the variable. A value no deployment may leave out is
spelled `"{{ env('X') }}"`, which Dagster refuses to load without.

Secrets never go through `{{ env.X }}`, whose value would show in the UI as configuration: an
optional secret is a `dg.EnvVar` when the deployment sets it (`env_var_if_set`), resolved by
Dagster when a run starts and shown by name only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import dagster as dg
from pydantic import ValidationError

R = TypeVar("R", bound=dg.ConfigurableResource)

# The two spellings Dagster's templates accept: `env.NAME` and `env('NAME')`.
_ENV_REFERENCE = re.compile(r"env\.(\w+)|env\(\s*['\"]([^'\"]+)['\"]")


def from_yaml(resource_type: type[R]) -> dg.Resolver:
    """Resolves a YAML mapping of `resource_type`'s fields to templated values into the resource."""

    def resolve(context: dg.ResolutionContext, raw: Mapping[str, Any] | None) -> R:
        _refuse_unknown(resource_type, raw or {})
        given: dict[str, Any] = {}
        for name, value in (raw or {}).items():
            resolved = context.resolve_value(value)
            if resolved is None or (isinstance(resolved, str) and not resolved.strip()):
                continue
            # Templates render "66952" as a number: as text, the resource's own type decides.
            number = isinstance(resolved, int | float) and not isinstance(resolved, bool)
            given[name] = str(resolved) if number else resolved
        try:
            return resource_type(**given)
        except ValidationError as exc:
            raise ValueError(_explain(resource_type, exc, raw or {}, given)) from None

    return dg.Resolver(resolve, model_field_type=dict[str, Any], inject_before_resolve=False)


def _refuse_unknown(resource_type: type[R], raw: Mapping[str, Any]) -> None:
    """A mistyped field would otherwise leave its setting at the default, its variable unread."""
    fields = sorted(resource_type.model_fields)
    unknown = [str(name) for name in raw if name not in resource_type.model_fields]
    if not unknown:
        return
    problems = []
    for name in unknown:
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{name}{hint}")
    raise ValueError(
        f"{resource_type.__name__} has no field {', '.join(problems)}; its fields are "
        f"{', '.join(fields)}"
    )


def _explain(
    resource_type: type, exc: ValidationError, raw: Mapping[str, Any], given: Mapping[str, Any]
) -> str:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        source = ", ".join(variables(raw.get(name)))
        where = f" (from ${source})" if source else ""
        shown = f" = {given[name]!r}" if name in given else ""
        problems.append(f"{name}{shown}{where}: {error['msg']}")
    return f"{resource_type.__name__} is misconfigured: " + "; ".join(problems)


def variables(value: Any) -> list[str]:
    """The environment variables a templated YAML value reads."""
    if not isinstance(value, str):
        return []
    return [a or b for a, b in _ENV_REFERENCE.findall(value)]


def env_var_if_set(name: str) -> dg.EnvVar | None:
    """`dg.EnvVar(name)` when the deployment sets the variable, else None (the field's default).

    Only whether it is set is read here; Dagster resolves the value when a run starts, because a
    resource field set from an unset `dg.EnvVar` fails every run.
    """
    var = dg.EnvVar(name)
    return var if (var.get_value() or "").strip() else None
