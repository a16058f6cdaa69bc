import pyarrow as pa
import pytest

from ai_core.iceberg.memory import configure_arrow_memory


@pytest.fixture
def restore_pool():
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def test_importing_the_storage_package_installs_jemalloc(restore_pool):
    import ai_core.iceberg  # noqa: F401

    assert configure_arrow_memory() == "jemalloc"
    assert pa.default_memory_pool().backend_name == "jemalloc"


@pytest.mark.parametrize("choice", ["mimalloc", "system"])
def test_the_pool_follows_the_setting(restore_pool, monkeypatch, choice):
    monkeypatch.setenv("AI_ARROW_MEMORY_POOL", choice)
    assert configure_arrow_memory() == choice
    assert pa.default_memory_pool().backend_name == choice


def test_pyarrow_leaves_the_current_pool(restore_pool):
    pa.set_memory_pool(pa.system_memory_pool())
    assert configure_arrow_memory("pyarrow") == "system"


def test_an_unknown_pool_is_named_in_the_error(restore_pool):
    with pytest.raises(ValueError, match="AI_ARROW_MEMORY_POOL='tcmalloc'"):
        configure_arrow_memory("tcmalloc")
