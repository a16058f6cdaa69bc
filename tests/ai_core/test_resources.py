"""`from_yaml` and `env_var_if_set`: environment values onto a resource's fields, defaults kept."""

import dagster as dg
import pytest
from pydantic import Field

from ai_core.resources import env_var_if_set, from_yaml, variables


class Shop(dg.ConfigurableResource):
    code: str = "00501"
    timeout: float = Field(default=20.0, gt=0)
    tags: dict[str, str] = Field(default_factory=dict)
    token: str | None = None


def resolve(raw: dict[str, object]) -> Shop:
    resolver = from_yaml(Shop)
    shop = resolver.fn.callable(dg.ResolutionContext.default(), raw)  # type: ignore[attr-defined]
    assert isinstance(shop, Shop)
    return shop


def test_values_from_the_environment_or_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_CODE", "10001")  # rendered as a number, read back as text
    monkeypatch.setenv("SHOP_TIMEOUT", " ")  # blank: unset
    monkeypatch.delenv("SHOP_NONE", raising=False)
    shop = resolve(
        {
            "code": "{{ env.SHOP_CODE }}",
            "timeout": "{{ env.SHOP_TIMEOUT }}",
            "token": "{{ env.SHOP_NONE }}",
            "tags": {"tier": "raw"},
        }
    )
    assert shop == Shop(code="10001", tags={"tier": "raw"})
    monkeypatch.setenv("SHOP_TIMEOUT", "2.5")
    assert resolve({"timeout": "{{ env.SHOP_TIMEOUT }}"}).timeout == 2.5


def test_a_bad_value_names_the_field_and_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TIMEOUT", "-1")
    with pytest.raises(
        ValueError, match=r"timeout = '-1' \(from \$SHOP_TIMEOUT\): .*greater than 0"
    ):
        resolve({"timeout": "{{ env.SHOP_TIMEOUT }}"})


def test_a_mistyped_field_fails_naming_it_and_the_closest_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Unset or not, a mistyped field would leave its setting at the default without a word.
    monkeypatch.delenv("SHOP_CODE", raising=False)
    with pytest.raises(ValueError, match=r"Shop has no field kode \(did you mean code\?\)"):
        resolve({"kode": "{{ env.SHOP_CODE }}", "timeout": "3"})
    with pytest.raises(ValueError, match=r"no field zzz; its fields are code, tags, timeout"):
        resolve({"zzz": "1"})


def test_a_required_variable_unset_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_NONE", raising=False)
    with pytest.raises(Exception, match="SHOP_NONE is not set"):
        resolve({"token": "{{ env('SHOP_NONE') }}"})


def test_variables_in_both_spellings() -> None:
    assert variables("{{ env.A_B }}") == ["A_B"]
    assert variables("{{ env('C') }}/{{ env.D }}") == ["C", "D"]
    assert variables(3) == []


def test_a_secret_is_an_env_var_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_TOKEN", raising=False)
    assert env_var_if_set("SHOP_TOKEN") is None
    monkeypatch.setenv("SHOP_TOKEN", "")
    assert env_var_if_set("SHOP_TOKEN") is None
    monkeypatch.setenv("SHOP_TOKEN", "s3cret")
    token = env_var_if_set("SHOP_TOKEN")
    assert isinstance(token, dg.EnvVar) and token.env_var_name == "SHOP_TOKEN"
    # Dagster resolves it when the resource is built for a run; the definition holds the name.
    assert Shop(token=token).token == "SHOP_TOKEN"
