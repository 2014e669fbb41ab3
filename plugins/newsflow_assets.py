"""The Assets newsflow's DAGs produce, defined once: every producer imports them from here.

Consumers may reference them by name (``Asset.ref(name="news_articles")``).
"""

from airflow.sdk import Asset, AssetAlias

# The articles table (and its child tables): news_ingest and news_reprocess update it.
ARTICLES = Asset(name="news_articles", uri="postgres://news_db:5432/news/public/articles")
# The loads of news_ingest and news_reprocess emit the news_articles event through this
# alias, only when they inserted or changed articles (a re-run or an empty night then
# triggers no report).
ARTICLES_CHANGED = AssetAlias(name="news_articles_changed")
