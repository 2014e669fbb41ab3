-- The writer's and the reader's rights, set again after every `newsflow migrate` (as the
-- owner), so that the objects of every migration, past and future, follow one rule:
--
--   writer: SELECT, INSERT, UPDATE, DELETE on every table and view, every sequence, EXECUTE
--           on every function (refresh_reporting_views() included); no DDL, no TRUNCATE;
--           schema_migrations read-only.
--   reader: SELECT on the consumer views, EXECUTE on search_articles() and on the
--           invoker-rights read-only functions the views call. A consumer view is a view
--           (not a materialized view) in schema public whose name starts with "v_"; an
--           internal view is named otherwise. No raw table, no materialized view.
--
-- Functions are callable by their grantees only (PostgreSQL lets PUBLIC call any function
-- by default); refresh_reporting_views() and search_articles() run with the owner's rights
-- (SECURITY DEFINER, fixed search_path; migration 012).

GRANT USAGE ON SCHEMA public TO newsflow_writer, newsflow_reader;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, newsflow_writer, newsflow_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, newsflow_writer, newsflow_reader;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC, newsflow_writer, newsflow_reader;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO newsflow_writer;
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM newsflow_writer;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO newsflow_writer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO newsflow_writer;

-- Objects a later migration makes get the writer's rights at once (the grants below are
-- set again by the next `newsflow migrate` anyway); no function is PUBLIC's.
ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO newsflow_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO newsflow_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_owner IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO newsflow_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_owner IN SCHEMA public
    REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

DO $reader$
DECLARE
    object record;
BEGIN
    FOR object IN
        SELECT format('%I.%I', n.nspname, c.relname) AS name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'v' AND c.relname LIKE 'v\_%'
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO newsflow_reader', object.name);
    END LOOP;
    -- Invoker-rights functions that change nothing run with the reader's own rights (they
    -- can read nothing it cannot); views such as v_article_versions call them.
    -- And search_articles(), whatever its signature becomes.
    FOR object IN
        SELECT p.oid::regprocedure::text AS name
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prokind = 'f'
          AND ((NOT p.prosecdef AND p.provolatile IN ('i', 's'))
               OR p.proname = 'search_articles')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO newsflow_reader', object.name);
    END LOOP;
END
$reader$;
