"""Silver's and Gold's tables from Spark: new files written beside a table's current ones, for one
commit to publish (see `bi_lake.tables`), and a table's files at a snapshot read back."""

from __future__ import annotations

import pyspark.sql.types as T
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from bi_lake.tables import LayerTables, TableDeclaration, decimal_digits


def write_files(
    tables: LayerTables, declaration: TableDeclaration, frame: DataFrame, run_id: str
) -> list[str]:
    """Write `frame` as Parquet files the table can register, unpublished; their URIs.

    A partitioned table gets one file per partition (each partition's rows brought to one task). An
    unpartitioned one is sorted as a whole: a range exchange spreads the rows over as many tasks as
    the data needs (adaptive execution joins the small ones), so no task holds every row and a big
    table is several files. Either way rows are sorted within a file, so that readers skip row groups
    by their statistics, and the partition value is derived from a column the files keep, so every
    file registers under exactly one partition.
    """
    target = tables.storage.uri_of(tables.data_prefix(declaration.name, run_id))
    partitioning = declaration.partitioning
    if partitioning is None:
        writer = (frame.orderBy(*declaration.sort_by) if declaration.sort_by else frame).write
    else:
        folder = partitioning.folder_column
        arranged = frame.withColumn(folder, F.col(partitioning.column)).repartition(folder)
        # The folder first: the writer wants its rows by folder, and would otherwise sort them again
        # by the folder alone, losing the order within each file.
        writer = arranged.sortWithinPartitions(folder, *declaration.sort_by).write.partitionBy(folder)
    writer.mode("overwrite").parquet(target)
    return tables.written_files(declaration.name, run_id)


def read_files(
    spark: SparkSession, declaration: TableDeclaration, files: list[str], schema: StructType
) -> DataFrame:
    """The rows of these data files, as declared (an empty frame when there are none)."""
    if not files:
        return spark.createDataFrame([], schema)
    # The declared columns only: Spark would otherwise add the folder column it finds in the paths.
    return spark.read.schema(schema).parquet(*files).select(*(name for name, _ in declaration.columns))


def spark_type(kind: str) -> T.DataType:
    """A declared type (`string`, `decimal(18,2)`, ...) as Spark's; no Spark session needed."""
    if digits := decimal_digits(kind):
        return T.DecimalType(*digits)
    return _SIMPLE_TYPES[kind]()


_SIMPLE_TYPES: dict[str, type[T.DataType]] = {
    "string": T.StringType,
    "date": T.DateType,
    "timestamp": T.TimestampType,
    "boolean": T.BooleanType,
    "int": T.IntegerType,
    "integer": T.IntegerType,
    "bigint": T.LongType,
    "double": T.DoubleType,
}


def declared_schema(declaration: TableDeclaration) -> T.StructType:
    """A table's declared columns as a Spark schema (every column nullable)."""
    return T.StructType([T.StructField(name, spark_type(kind)) for name, kind in declaration.columns])
