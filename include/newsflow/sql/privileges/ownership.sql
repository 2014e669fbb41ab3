-- Every object of schema public (tables, views, materialized views, sequences not owned by
-- a column, functions, types) belongs to newsflow_owner. Objects made before migration 012,
-- or by an administrator outside `newsflow migrate`, are handed over; a no-op when all are.
-- Run as the role that connected (it must own them, or be a superuser), before SET ROLE.
DO $ownership$
DECLARE
    object record;
BEGIN
    FOR object IN
        SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
               format('%I.%I', n.nspname, c.relname) AS name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> 'newsflow_owner'::regrole
          -- Extensions keep their objects; a column's sequence follows its table.
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
                            AND (d.deptype = 'e'
                                 OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
        UNION ALL
        SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
               p.oid::regprocedure::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
          AND p.proowner <> 'newsflow_owner'::regrole
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.objid = p.oid AND d.classid = 'pg_proc'::regclass
                            AND d.deptype = 'e')
        UNION ALL
        -- Enums, domains, ranges and free-standing composite types.
        SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
               t.oid::regtype::text
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typowner <> 'newsflow_owner'::regrole
          AND (t.typtype IN ('e', 'd', 'r')
               OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class
                                        WHERE oid = t.typrelid) = 'c'))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.objid = t.oid AND d.classid = 'pg_type'::regclass
                            AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO newsflow_owner', object.kind, object.name);
    END LOOP;
END
$ownership$;
