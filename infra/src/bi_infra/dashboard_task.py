"""What the dashboard's container is told, declared once: the task definition sets it on AWS and the
container test starts the image's command with exactly this."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

# The port Streamlit listens on in the container; the target group and security groups follow it.
CONTAINER_PORT = 8501
HEALTH_PATH = "/_stcore/health"


def task_environment(
    *,
    gold_uri: str,
    region: str,
    load_balancer_arn: str,
    restaurant_access: Mapping[str, Sequence[str]],
    groups_claim: str,
    health_uris: Mapping[str, str] | None = None,
    lake_uri: str | None = None,
    catalog_namespace_prefix: str | None = None,
) -> dict[str, str]:
    """The container's environment: where Gold is, that every session must be signed in by this load
    balancer, and who may see which restaurants. `health_uris` adds the Bronze/Silver locations the
    Data health page reads (their bookkeeping objects only), `lake_uri` the lake root, where that
    page finds the run reports, and `catalog_namespace_prefix` the stack's Glue databases, where Gold's
    Iceberg tables are registered."""
    environment = {
        "BI_GOLD_URI": gold_uri,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "BI_DASHBOARD_SIGN_IN": "alb",
        "BI_DASHBOARD_REGION": region,
        "BI_DASHBOARD_LOAD_BALANCER_ARN": load_balancer_arn,
        "BI_DASHBOARD_RESTAURANT_ACCESS": json.dumps({k: list(v) for k, v in restaurant_access.items()}),
        "BI_DASHBOARD_GROUPS_CLAIM": groups_claim,
        "STREAMLIT_SERVER_PORT": str(CONTAINER_PORT),
        "STREAMLIT_SERVER_ADDRESS": "0.0.0.0",
    }
    for layer, uri in (health_uris or {}).items():
        environment[f"BI_{layer.upper()}_URI"] = uri
    if lake_uri is not None:
        environment["BI_LAKE"] = lake_uri
    if catalog_namespace_prefix is not None:
        environment["BI_CATALOG"] = "glue"
        environment["BI_CATALOG_NAMESPACE_PREFIX"] = catalog_namespace_prefix
    return environment
