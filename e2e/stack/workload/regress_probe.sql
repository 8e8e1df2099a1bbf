SELECT regress_probe(:delay);
