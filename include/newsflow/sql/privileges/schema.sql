-- The owner creates the objects of schema public; nobody else may (PUBLIC had CREATE on it
-- before PostgreSQL 15). Run by `newsflow migrate` when the owner cannot create there yet,
-- as the role that connected: it must own the schema (the database's owner does) or be a
-- superuser.
GRANT USAGE, CREATE ON SCHEMA public TO newsflow_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- CREATE on the database lets the owner add a trusted extension (pg_trgm, ...) in a migration.
DO $database$
BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO newsflow_owner', current_database());
END
$database$;
