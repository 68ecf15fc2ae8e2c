"""The Pulumi program that deploys the pipeline to AWS, one stack per environment.

Empty until the S3 storage lands: the program will turn the workflow declaration in `bi_lake.workflow`
into Glue jobs, a Glue Workflow and its triggers.
"""
