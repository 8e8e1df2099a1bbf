\shell sh :evict :table :index
SELECT io_probe(2000);
