-- The three group roles (NOLOGIN; logins are made members of them), created when missing.
-- Run by `newsflow migrate` before the migrations, only when something here is missing, so
-- only the first migration of a cluster needs a role that may create roles (CREATEROLE or a
-- superuser). Roles belong to the whole server: several databases, and several migrations
-- at once, share them, hence the tolerated duplicates.
--
--   newsflow_owner   owns every object of the schema; runs the migrations (SET ROLE)
--   newsflow_writer  the pipeline (connection news_db): DML on the tables, no DDL
--   newsflow_reader  analysts: SELECT on the consumer views, search_articles()
DO $roles$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['newsflow_owner', 'newsflow_writer', 'newsflow_reader']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it a moment ago
            END;
        END IF;
    END LOOP;
END
$roles$;
