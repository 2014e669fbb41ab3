-- Least privilege (issue 16). The roles newsflow_owner, newsflow_writer and newsflow_reader
-- exist before any migration runs (privileges/roles.sql: only a role that may create roles
-- can make them, and migrations run as newsflow_owner); privileges/grants.sql gives them
-- their rights after every `newsflow migrate`.
--
-- The two functions other roles call to reach what they may not touch directly run with
-- the owner's rights, with a search_path of trusted schemas only, so that no object a
-- caller creates elsewhere can stand in for ours.

-- The writer refreshes the materialized views, which only their owner may do.
ALTER FUNCTION refresh_reporting_views() SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp;

-- The reader searches articles without the right to read the articles table.
ALTER FUNCTION search_articles(text, timestamptz, text, integer, text, text) SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp;
