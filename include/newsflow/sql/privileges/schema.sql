-- The owner creates the objects of schema public; nobody else may (PUBLIC had CREATE on it
-- before PostgreSQL 15). Run by `newsflow migrate` when the owner cannot create there yet,
-- as the role that connected: it must own the schema (the database's owner does) or be a
-- superuser.
GRANT USAGE, CREATE ON SCHEMA public TO newsflow_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
