"""PySpark jobs from Bronze to Silver to Gold; plain SparkSession/DataFrame code that runs on AWS Glue 5."""
