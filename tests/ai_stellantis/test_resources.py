"""The location's resources: defaults in the classes, values from the environment through the
YAML's `{{ env.X }}`, listed by `dg list env`, bad values named by their variable."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from ai_core.alerts.resource import SENTRY_DSN_ENV
from ai_core.http.config import HttpClientConfig
from ai_core.iceberg.resource import IcebergCatalogResource
from ai_core.resources import variables
from ai_stellantis.brands import resolve_brands
from ai_stellantis.components import BIGQUERY_RESOURCE_KEY, RESOURCE_KEY
from ai_stellantis.definitions import defs
from ai_stellantis.settings import StellantisApiResource
from ai_stellantis.sources.bigquery import CREDENTIALS_ENV, DealerConnectBigQuery
from tests.ai_stellantis.conftest import ALL_DOMAINS

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESOURCES_YAML = ROOT / "ai_stellantis" / "defs" / "resources" / "defs.yaml"
SECRETS = {CREDENTIALS_ENV, SENTRY_DSN_ENV}


def _document() -> dict[str, Any]:
    document = yaml.safe_load(RESOURCES_YAML.read_text())
    assert isinstance(document, dict)
    return document


def templated() -> dict[str, str]:
    """Each variable the YAML reads, with the resource field it sets (`public_sites.page_size`)."""
    found = {}
    for resource, fields in _document()["attributes"].items():
        for field, value in fields.items():
            for name in variables(value):
                found[name] = f"{resource}.{field}"
    return found


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment where none of the location's variables is set."""
    for name in [*templated(), *SECRETS]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_dg_list_env_lists_every_variable_the_location_reads() -> None:
    out = subprocess.run(
        [str(BIN / "dg"), "list", "env"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    listed = {line.split("│")[1].strip() for line in out.stdout.splitlines() if "│" in line}
    assert set(templated()) | SECRETS <= listed
    assert len(templated()) == 17
    # Every templated variable is declared, so `dg check yaml --validate-requirements` agrees.
    assert set(templated()) | SECRETS == set(_document()["requirements"]["env"])


def test_unset_variables_leave_the_defaults(unset: pytest.MonkeyPatch) -> None:
    resources = defs().resources
    assert resources[RESOURCE_KEY] == StellantisApiResource()
    bigquery = resources[BIGQUERY_RESOURCE_KEY]
    assert isinstance(bigquery, DealerConnectBigQuery)
    assert (bigquery.project, bigquery.endpoint, bigquery.timeout, bigquery.workers) == (
        "ai-app-stellantis",
        None,
        120.0,
        8,
    )
    assert bigquery.gcp_credentials is None
    assert resources["iceberg"] == IcebergCatalogResource()
    assert resources["sentry"].dsn is None  # type: ignore[attr-defined]


def test_blank_variables_are_unset(unset: pytest.MonkeyPatch) -> None:
    unset.setenv("STELLANTIS_INVENTORY_TIMEOUT", " ")
    unset.setenv(CREDENTIALS_ENV, "")
    resources = defs().resources
    assert resources[RESOURCE_KEY] == StellantisApiResource()
    assert resources[BIGQUERY_RESOURCE_KEY].gcp_credentials is None  # type: ignore[attr-defined]


def test_a_run_uses_the_variables_set(unset: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = {
        "STELLANTIS_BASE_URL_TEMPLATE": "http://127.0.0.1:9/{domain}",
        "STELLANTIS_BRANDS": "jeep.com, Ram",
        "STELLANTIS_INVENTORY_ZIP": "06103",  # a leading zero stays text
        "STELLANTIS_INVENTORY_RADIUS": "50",
        "STELLANTIS_INVENTORY_PAGES_WORKERS": "4",
        "STELLANTIS_INVENTORY_TIMEOUT": "2.5",
        "STELLANTIS_INVENTORY_RETRY_BACKOFF": "0.25",
        "STELLANTIS_INVENTORY_MAX_THROTTLED": "90",
        "STELLANTIS_INVENTORY_MAX_PER_MODEL": "120",
        "STELLANTIS_BIGQUERY_TIMEOUT": "7.5",
        "STELLANTIS_BIGQUERY_WORKERS": "3",
        "STELLANTIS_GCP_PROJECT": "other",
        "AI_DATA_DIR": str(tmp_path / "data"),
        "AI_CATALOG_TIMEOUT": "45",
    }
    for name, value in values.items():
        unset.setenv(name, value)
    seen: dict[str, Any] = {}

    @dg.asset(required_resource_keys={RESOURCE_KEY, BIGQUERY_RESOURCE_KEY, "iceberg"})
    def probe(context: dg.AssetExecutionContext) -> None:
        seen["api"] = getattr(context.resources, RESOURCE_KEY)
        seen["bigquery"] = getattr(context.resources, BIGQUERY_RESOURCE_KEY)
        seen["iceberg"] = context.resources.iceberg

    resources = defs().resources
    result = dg.materialize([probe], resources=dict(resources))
    assert result.success
    api: StellantisApiResource = seen["api"]
    assert [b.name for b in api.selected_brands()] == ["Jeep", "Ram"]
    assert api.base_url(api.selected_brands()[0]) == "http://127.0.0.1:9/jeep.com"
    assert (api.inventory_zip, api.inventory_radius, api.inventory_max_per_model) == (
        "06103",
        50,
        120,
    )
    http = api.http()
    assert (http.workers, http.timeout_s, http.retry_backoff_s, http.max_retries) == (
        4,
        2.5,
        0.25,
        HttpClientConfig().max_retries,
    )
    assert http.max_throttled_s == 90
    bigquery: DealerConnectBigQuery = seen["bigquery"]
    assert (bigquery.project, bigquery.timeout, bigquery.workers) == ("other", 7.5, 3)
    assert seen["iceberg"].data_dir == str(tmp_path / "data")
    assert seen["iceberg"].request_timeout_s == 45


def load_error(monkeypatch: pytest.MonkeyPatch, **values: str) -> str:
    """The text of the error (and its causes) that stops the location loading with `values`."""
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exception) as caught:
        defs()
    chain = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__
    return "\n".join(chain)


def test_a_bad_value_fails_naming_its_variable(unset: pytest.MonkeyPatch) -> None:
    text = load_error(unset, STELLANTIS_INVENTORY_TIMEOUT="soon", STELLANTIS_PAGE_SIZE="900")
    assert "inventory_timeout = 'soon' (from $STELLANTIS_INVENTORY_TIMEOUT)" in text
    assert "page_size = '900' (from $STELLANTIS_PAGE_SIZE)" in text
    assert "less than or equal to 500" in text
    unset.delenv("STELLANTIS_PAGE_SIZE")
    text = load_error(unset, STELLANTIS_BRANDS="jeep.com,toyota.com")
    assert "brands = 'jeep.com,toyota.com' (from $STELLANTIS_BRANDS)" in text
    assert "unknown brand 'toyota.com'" in text
    for name in ("STELLANTIS_BRANDS", "STELLANTIS_INVENTORY_TIMEOUT"):
        unset.delenv(name)
    text = load_error(unset, STELLANTIS_BIGQUERY_WORKERS="0")
    assert "workers = '0' (from $STELLANTIS_BIGQUERY_WORKERS)" in text
    unset.delenv("STELLANTIS_BIGQUERY_WORKERS")
    # A time-out past which a throttled site's probe would outlast the stall watchdog.
    text = load_error(unset, STELLANTIS_INVENTORY_TIMEOUT="60")
    assert "inventory_timeout = '60' (from $STELLANTIS_INVENTORY_TIMEOUT)" in text
    assert "60 s is too long: a throttled site's probe (a Retry-After of up to 60 s" in text
    assert "could outlast the fetch's stall watchdog (180 s); lower it" in text
    assert StellantisApiResource(inventory_timeout=59.5).http().timeout_s == 59.5
    unset.delenv("STELLANTIS_INVENTORY_TIMEOUT")


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("http://127.0.0.1:9/{dom}", "the only placeholder it may hold is {domain}, not 'dom'"),
        ("127.0.0.1:9/{domain}", "it is not an http(s) URL with a host"),
        # Six brands from one site: one brand's pages stored under every brand's name.
        ("http://127.0.0.1:9/jeep.com", "it has no {domain}, so every brand would be read"),
    ],
)
def test_a_site_template_that_cannot_name_each_brands_site_fails_the_load(
    unset: pytest.MonkeyPatch, template: str, says: str
) -> None:
    text = load_error(unset, STELLANTIS_BASE_URL_TEMPLATE=template)
    assert f"base_url_template = '{template}' (from $STELLANTIS_BASE_URL_TEMPLATE)" in text
    assert says in text


def test_one_brand_may_be_read_from_a_site_without_the_placeholder() -> None:
    api = StellantisApiResource(brands="jeep", base_url_template="http://127.0.0.1:9/jeep/")
    assert api.base_url(api.selected_brands()[0]) == "http://127.0.0.1:9/jeep"


def test_secrets_are_wired_by_name_and_never_held(unset: pytest.MonkeyPatch) -> None:
    secret = '{"type": "service_account", "private_key": "SECRET-VALUE"'
    unset.setenv(CREDENTIALS_ENV, secret)
    unset.setenv(SENTRY_DSN_ENV, "https://SECRET-KEY@127.0.0.1:9/1")
    definitions = defs()
    bigquery = definitions.resources[BIGQUERY_RESOURCE_KEY]
    assert isinstance(bigquery.gcp_credentials, dg.EnvVar)  # type: ignore[attr-defined]
    # What the UI shows: the resources read these variables, not their values.
    used = definitions.get_repository_def().get_env_vars_by_top_level_resource()
    assert used == {CREDENTIALS_ENV: {BIGQUERY_RESOURCE_KEY}, SENTRY_DSN_ENV: {"sentry"}}
    assert "SECRET" not in repr(definitions.resources)

    @dg.asset(required_resource_keys={BIGQUERY_RESOURCE_KEY})
    def connect(context: dg.AssetExecutionContext) -> None:
        with getattr(context.resources, BIGQUERY_RESOURCE_KEY).get_client():
            pass

    result = dg.materialize(
        [connect], resources={BIGQUERY_RESOURCE_KEY: bigquery}, raise_on_error=False
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None
    assert "GCP_CREDENTIALS is not a service account key" in failure.message
    assert "SECRET" not in failure.to_string()


def test_defaults() -> None:
    s = StellantisApiResource()
    assert (s.inventory_zip, s.inventory_radius, s.inventory_pages_workers) == ("66952", 5000, 10)
    assert s.http() == HttpClientConfig()
    assert s.inventory_max_per_model is None
    assert tuple(b.domain for b in s.selected_brands()) == ALL_DOMAINS
    assert s.base_url(s.selected_brands()[2]) == "https://www.ramtrucks.com"


def test_unknown_brands_are_named() -> None:
    with pytest.raises(ValueError, match=r"unknown brand 'toyota\.com'"):
        resolve_brands("jeep.com,toyota.com")
