"""The `bi` command line and the local workflow runner."""
