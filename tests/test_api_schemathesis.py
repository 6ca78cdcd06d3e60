"""Property-based test of the API against its own definition (/api), with schemathesis.

A real server on a copy of the demo data, once per store kind (GeoPackage, PostGIS); every GET
operation of the definition gets a bounded number of generated requests (derandomised, so a run
is repeatable), and each
response must not be a 5xx, must have a status the definition declares for the operation,
and must match the declared schema of its media type. The OGC paths are generated per
collection, so the requests reach real collections, with real property values as filters.

Cases come from each operation's hypothesis strategy rather than `schema.parametrize()` with
`schemathesis.pytest.from_fixture`: the lazy loader of schemathesis 4.32 fails under pytest 9
(it reads `request.node._nodeid`), and the schema can only be loaded once the server runs.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .servers import running_server  # noqa: E402

MAX_EXAMPLES = 12
# The read side of OGC API - Features (this suite's subject); other routers have their own tests.
OGC_PATH = re.compile(r"^(/|/conformance|/api|/api\.html|/collections"
                      r"|/collections/[a-z][a-z0-9_]*(/schema|/queryables|/items|/items/\{featureId\})?)$")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Routes that draw PDFs (a second or more each, atlases in background processes): tested in test_reports.py.
HEAVY_PATH = re.compile(r"^/reports/(compounds|streets|districts)/")
ADMIN_KEY = "schemathesis-admin-key-0123456789"


@pytest.fixture(scope="module")
def base(shared_backend):
    """A server on a private copy of the demo data (each store kind), with small pages so paging links appear."""
    admin = [{"name": "fuzz", "role": "admin", "sha256": hashlib.sha256(ADMIN_KEY.encode()).hexdigest()}]
    env = {**shared_backend.env, "GEO_SERVICE_MAX_LIMIT": "200", "GEO_SERVICE_DEFAULT_LIMIT": "20",
           "GEO_SERVICE_READ_REQUIRES_KEY": "false", "GEO_SERVICE_API_KEYS": json.dumps(admin),
           "GEO_SERVICE_HEAVY_PER_MINUTE": "0"}
    with pytest.MonkeyPatch.context() as mp:
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            mp.delenv(var, raising=False)
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        with running_server(env) as url:
            yield url


def _run(operation, mode, checks, headers: dict | None = None) -> str | None:
    """Run one operation's generated cases; the failure message, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        case.call_and_validate(checks=checks, headers=headers)

    try:
        run()
    except Unsatisfiable:  # no parameters, so no invalid request to make (negative mode)
        return None
    except (Exception, BaseExceptionGroup) as e:  # a group of check failures; go on, to report all
        return f"{operation.method.upper()} {operation.path} ({mode.value}): {e}"
    return None


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_api_conforms_to_its_definition(base, mode):
    """Positive cases: all checks. Negative cases (invalid values): still no 5xx and a declared status."""
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(base + "/api").include(method="GET")
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    checks = CHECKS if mode == "positive" else [not_a_server_error, status_code_conformance]
    operations = [op for r in schema.get_all_operations() if OGC_PATH.match((op := r.ok()).path)]
    assert len(operations) > 20  # the per-collection paths are there
    failures = [msg for op in operations if (msg := _run(op, generation, checks))]
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_the_whole_api_conforms_to_its_definition(base, mode):
    """Every other route too (compounds, analyses, tiles, map, jobs, sign-in, and the edits with an admin
    key): positive cases with all checks, negative cases no 5xx and a declared status (issue 13)."""
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(base + "/api")
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    checks = CHECKS if mode == "positive" else [not_a_server_error, status_code_conformance]
    operations = [op for r in schema.get_all_operations()
                  if not (OGC_PATH.match((op := r.ok()).path) and op.method.upper() == "GET")
                  and not HEAVY_PATH.match(op.path)]
    methods = {op.method.upper() for op in operations}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} <= methods and len(operations) > 25
    failures = [msg for op in operations if (msg := _run(op, generation, checks, {"X-API-Key": ADMIN_KEY}))]
    assert not failures, "\n\n".join(failures)


def test_definition_is_valid_openapi_3_0(base):
    """The definition promises OpenAPI 3.0 (landing page, oas30 class): check it against the 3.0 meta-schema."""
    import json
    import urllib.request

    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

    with urllib.request.urlopen(base + "/api", timeout=10) as r:
        assert r.headers["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
        doc = json.loads(r.read())
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in OPENAPI_30_VALIDATOR.iter_errors(doc)]
    assert not errors, "\n".join(errors[:20])
