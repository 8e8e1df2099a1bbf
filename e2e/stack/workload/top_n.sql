SELECT aid, abalance FROM pgbench_accounts ORDER BY abalance DESC, aid LIMIT 10;
