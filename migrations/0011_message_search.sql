-- 0011: full-text search of messages (issue 17). InnoDB's FULLTEXT index over the text, in
-- the column's collation (utf8mb4_unicode_ci: any case and any accents match). Which words it
-- holds depends on the server's innodb_ft_min_token_size and stopword list when the index is
-- built: the embedded server indexes every word (min token size 1, no stopwords); README says
-- what another server needs. One statement, which may run twice.
ALTER TABLE messages ADD FULLTEXT INDEX IF NOT EXISTS messages_body_search (body);
