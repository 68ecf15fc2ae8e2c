"""The Glue Data Catalog of the stack: one database per layer of Iceberg tables, `<prefix>silver` and
`<prefix>gold` (`StackConfig.database`), and no tables.

The jobs create and commit their Iceberg tables themselves, through pyiceberg's Glue catalog, from the
one declaration of each layer (Gold's is `bi_contracts.gold.DATASETS`): a table the stack declared would be
a second declaration, and every commit would drift from it. Each table's Glue entry points at its
current Iceberg metadata, which Athena (and any Iceberg reader) reads natively: no manifests, no
partition projection, no crawler. A database's location is its layer's bucket, where a table created
without a location goes (`<bucket>/<table>`), as the jobs place them.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from bi_infra.access import LAYER_PREFIX
from bi_infra.config import CATALOG_LAYERS, CatalogLayer, StackConfig

DESCRIPTIONS: dict[CatalogLayer, str] = {
    "silver": "Silver: conformed facts and dimensions, Iceberg tables the silver job registers",
    "gold": "Gold: pre-aggregated datasets for BI tools, Iceberg tables the gold job registers "
    "(declared in bi_contracts.gold)",
}


def create_catalog(
    config: StackConfig,
    buckets: dict[str, aws.s3.Bucket],
    opts: pulumi.ResourceOptions,
) -> dict[CatalogLayer, aws.glue.CatalogDatabase]:
    """The layers' databases. They hold the tables' pointers to their current metadata (the jobs'
    commits), so they are protected as the buckets are."""
    kept = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=config.protect_data))
    return {
        layer: aws.glue.CatalogDatabase(
            f"{layer}-database",
            name=config.database(layer),
            description=DESCRIPTIONS[layer],
            location_uri=pulumi.Output.concat("s3://", buckets[layer].bucket, "/", LAYER_PREFIX[layer]).apply(
                lambda uri: uri.rstrip("/")
            ),
            opts=kept,
        )
        for layer in CATALOG_LAYERS
    }
