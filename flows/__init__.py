"""Prefect flows: thin orchestration over the arrhythmia library, one flow per pipeline stage."""

import os

# Before Prefect or GX are imported anywhere: no analytics from pipelines (it also caused
# sqlite "database is locked" noise), and library logs show up in flow-run logs.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "arrhythmia")
