"""Shared core of Business Insights: settings, lake layout, storage, run bookkeeping and the workflow."""
