#!/bin/sh
# Drops the files' pages from the OS page cache (posix_fadvise DONTNEED, through dd), so that
# the next read of them comes from storage: what makes io_probe.sql's statement I/O-bound on a
# machine whose page cache would otherwise hold the whole table. Dirty pages stay (stack.sh
# io-probe syncs the table first).
for file; do dd if="$file" iflag=nocache count=0 status=none; done
