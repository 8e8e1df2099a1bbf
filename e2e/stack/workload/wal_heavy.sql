\set low random(1, 90000)
UPDATE pgbench_accounts SET filler = md5(filler) WHERE aid BETWEEN :low AND :low + 500;
