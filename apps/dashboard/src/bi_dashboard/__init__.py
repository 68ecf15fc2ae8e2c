"""The Streamlit dashboard business users slice metrics in; it reads Gold through the metrics package.

Empty until the Gold layer and the metrics package exist.
"""
