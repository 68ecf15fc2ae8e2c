"""The Pulumi program that deploys the pipeline to AWS, one stack per environment: one module per
concern (storage, catalog, access, Glue jobs and the workflow generated from `bi_lake.workflow`, the
dashboard), the Glue wheelhouse and the cost model.
"""
