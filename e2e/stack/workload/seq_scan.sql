SELECT count(*) FROM pgbench_accounts WHERE abalance > 1000;
