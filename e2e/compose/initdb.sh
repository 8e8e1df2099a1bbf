#!/bin/bash
# Runs once in the postgres container: the two workload databases, pgbench tables, pgss.
set -e
psql -v ON_ERROR_STOP=1 -U postgres -d postgres -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
for db in app shop; do
  psql -U postgres -d postgres -c "CREATE DATABASE $db"
  pgbench -U postgres -i -s 1 -q "$db"
done
