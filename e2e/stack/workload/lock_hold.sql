SELECT lock_probe_hold(0.5);
