"""The Glue Data Catalog over Gold, generated from the Gold declarations in the metrics package: one
table per dataset, read through the per-partition manifests the Gold job publishes, months found by
partition projection (no crawler, no partition registration)."""

from __future__ import annotations

import functools

import pulumi
import pulumi_aws as aws

from bi_infra.config import StackConfig
from bi_metrics.gold import CATALOGUE_PREFIX, DATASETS, GoldDataset

# Gold's column types in the catalogue's (Hive) names.
HIVE_TYPES = {
    "string": "string",
    "date": "date",
    "boolean": "boolean",
    "integer": "int",
    "bigint": "bigint",
    "double": "double",
}
SYMLINK_INPUT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
FIRST_MONTH = "2020-01-01"


def hive_type(gold_type: str) -> str:
    return gold_type if gold_type.startswith("decimal(") else HIVE_TYPES[gold_type]


def manifest_location(dataset: GoldDataset, bucket: str) -> str:
    return f"s3://{bucket}/{CATALOGUE_PREFIX}/{dataset.name}/"


def table_parameters(dataset: GoldDataset, location: str) -> dict[str, str]:
    parameters = {"classification": "parquet", "EXTERNAL": "TRUE", "comment": dataset.description}
    if dataset.partition_by:
        part = dataset.partition_by
        parameters |= {
            "projection.enabled": "true",
            f"projection.{part}.type": "date",
            f"projection.{part}.format": "yyyy-MM-dd",
            f"projection.{part}.range": f"{FIRST_MONTH},NOW",
            f"projection.{part}.interval": "1",
            f"projection.{part}.interval.unit": "MONTHS",
            "storage.location.template": f"{location}{part}=${{{part}}}/",
        }
    return parameters


def create_catalog(
    config: StackConfig, gold: aws.s3.Bucket, opts: pulumi.ResourceOptions
) -> aws.glue.CatalogDatabase:
    database = aws.glue.CatalogDatabase(
        "gold-database",
        name=config.name("gold").replace("-", "_"),
        description="Gold: pre-aggregated datasets for BI tools (declared in bi_metrics.gold)",
        opts=opts,
    )
    for dataset in DATASETS:
        location = gold.bucket.apply(functools.partial(manifest_location, dataset))
        aws.glue.CatalogTable(
            f"gold-{dataset.name}",
            name=dataset.name,
            database_name=database.name,
            description=dataset.description,
            table_type="EXTERNAL_TABLE",
            parameters=location.apply(functools.partial(table_parameters, dataset)),
            partition_keys=[{"name": dataset.partition_by, "type": "date"}] if dataset.partition_by else None,
            storage_descriptor={
                "location": location,
                "input_format": SYMLINK_INPUT,
                "output_format": PARQUET_OUTPUT,
                "ser_de_info": {"serialization_library": PARQUET_SERDE},
                "columns": [
                    {"name": column.name, "type": hive_type(column.type), "comment": column.description}
                    for column in dataset.columns
                ],
            },
            opts=opts,
        )
    return database
