"""Gold's gate before any write: a dataset's frame must have its declared columns and types."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bi_contracts.gold import CUSTOMERS, DATASETS, DATASETS_BY_NAME
from bi_lake.errors import UserError
from bi_transform.gold.job import conform
from bi_transform.tables import declared_schema

pytestmark = pytest.mark.spark


def test_every_dataset_as_declared_passes_in_declared_order(spark: SparkSession) -> None:
    for dataset in DATASETS:
        schema = declared_schema(dataset.declaration)
        # Columns in another order than declared, as a builder may leave them.
        frame = spark.createDataFrame([], schema).select(*reversed(dataset.column_names))
        assert tuple(conform(dataset, frame).columns) == dataset.column_names, dataset.name


def test_a_retyped_or_missing_column_is_named_and_nothing_passes(spark: SparkSession) -> None:
    snapshot = DATASETS_BY_NAME[CUSTOMERS]
    frame = spark.createDataFrame([], declared_schema(snapshot.declaration))
    # An integer column (Spark calls the type `int`) computed as a long, and a column left out.
    retyped = frame.withColumn("r_score", F.col("r_score").cast("bigint")).drop("clv_tier")
    with pytest.raises(UserError) as raised:
        conform(snapshot, retyped)
    message = str(raised.value)
    assert f"{CUSTOMERS}.r_score: is bigint, declared integer" in message
    assert f"{CUSTOMERS}.clv_tier: is missing" in message
