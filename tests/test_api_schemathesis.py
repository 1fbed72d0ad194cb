"""Property-based API testing with schemathesis against the app's own OpenAPI document.

Bounded (20 examples per operation, derandomised) so the whole run stays within a few minutes; rate
limiting is off so that the examples, not the limiter, decide the responses. Requests carry an admin
key, so every operation is reachable; the role and 401 paths have their own tests in test_api.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install schemathesis)")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance  # noqa: E402

from engine.api import create_app  # noqa: E402
from engine.api.settings import ApiSettings  # noqa: E402
from engine.store import KeyRepository, open_store  # noqa: E402

_DATA = Path(tempfile.mkdtemp(prefix="rootward-schemathesis-"))
_URL = f"sqlite:///{_DATA / 'rootward.db'}"
with open_store(_URL).transaction() as _session:
    _ADMIN_KEY = KeyRepository(_session).create("admin", "schemathesis")[1]
_APP = create_app(ApiSettings(rate_limit_per_minute=0), _URL)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.fixture(scope="module", autouse=True)
def _warm_models() -> None:
    """Compile the pack's models before any example runs, so examples are timed warm."""
    _APP.state.rootward.service.diagnose("mail_delivery", {})


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {_ADMIN_KEY}"}, timeout=120,
                           checks=[not_a_server_error, response_schema_conformance, status_code_conformance])
