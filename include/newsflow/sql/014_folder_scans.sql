-- Bounded drop-folder discovery (lesson 1): a run examines at most NEWSFLOW_MAX_FOLDER_SCAN
-- entries of a folder and reads only the files it takes.
--
-- folder_scans: where each window's scan of a folder started and where the next one goes
-- on (names in order, wrapping round): a folder larger than the scan cap is examined in
-- turns, and a re-run of a window examines the same names again (same rows).
-- The index lets discovery find, by path, the files a run already read and took: a file
-- whose inode has not changed since then is not read again.

CREATE TABLE folder_scans (
    source_name  text        NOT NULL,
    window_key   text        NOT NULL,
    start_after  text        NOT NULL,   -- '' = from the first name
    next_after   text        NOT NULL,   -- '' = the scan reached the end
    scanned_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_name, window_key)
);

CREATE INDEX taken_inputs_source_input ON taken_inputs (source_name, input);
