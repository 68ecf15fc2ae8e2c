"""The Streamlit dashboard business users slice metrics in; it reads Gold through the metrics package,
and nothing of the pipeline (no PySpark).
"""
