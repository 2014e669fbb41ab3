"""newsflow: news ingestion, extraction and enrichment (the domain library, no Airflow)."""

from newsflow.safetext import escape_log_arguments

# Log arguments come from pages, feeds and file names: printed escaped (see safetext).
escape_log_arguments()
