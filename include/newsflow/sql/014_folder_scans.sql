-- Bounded drop-folder discovery (lesson 1): a run examines at most NEWSFLOW_MAX_FOLDER_SCAN
-- entries of a folder by their metadata, and reads only the files it takes.
--
-- folder_scans: where each window's scan of a folder started and where the next one goes
-- on (names in order, wrapping round): a folder larger than the scan cap is examined in
-- turns, and a re-run of a window examines the same names again (same rows).
-- drop_file_keys: the input key of each file a run read (its content hash, or its path if
-- it could not be read), as of the start of that run's transaction: a file whose inode has
-- not changed since (ctime) keeps its key without being read again.

CREATE TABLE folder_scans (
    source_name  text        NOT NULL,
    window_key   text        NOT NULL,
    start_after  text        NOT NULL,   -- '' = from the first name
    next_after   text        NOT NULL,   -- '' = the scan reached the end
    scanned_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_name, window_key)
);

CREATE TABLE drop_file_keys (
    source_name  text        NOT NULL,
    path         text        NOT NULL,
    input_key    text        NOT NULL,   -- 'sha256:<hex>', or the path when unreadable
    read_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_name, path)
);
