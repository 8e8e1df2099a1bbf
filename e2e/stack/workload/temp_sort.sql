SET work_mem = '64kB';
SELECT aid FROM pgbench_accounts ORDER BY bid, abalance, filler OFFSET 50000 LIMIT 1;
RESET work_mem;
