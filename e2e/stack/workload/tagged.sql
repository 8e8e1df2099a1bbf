-- Statements with sqlcommenter tags in a leading comment (issue 21: statement types and tags).
-- pg_stat_statements keeps the text of a queryid's first execution, comments included, and
-- the info exporter cuts names at 80 characters: the tags lead, and the statements differ from
-- pgbench's built-in ones (the same statement without a comment would share the queryid).
-- pgbench drops `--` comments like these before sending.
\set aid random(1, 100000 * :scale)
/* application='checkout',route='%2Fcart' */ SELECT aid, abalance FROM pgbench_accounts WHERE aid = :aid;
/* application='checkout',route='%2Fcart%2Fpay' */ UPDATE pgbench_accounts SET filler = filler WHERE aid = :aid;
