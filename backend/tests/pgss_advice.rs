//! Index advice (issue 21) against a real PostgreSQL 15 started here (Debian's, with
//! pg_stat_statements, pg_qualstats and hypopg from scripts/setup.sh): a statement filtering on an
//! unindexed column gets `CREATE INDEX ON public.orders (customer)`, whose hypothetical index the
//! planner uses at a lower estimated cost; the role is read-only; a database without the
//! extensions is refused with a message naming them; nothing is written.

mod support;

use pgscope::pgss::advice;
use support::Postgres;

#[test]
fn an_unindexed_filter_gets_a_hypothetical_index_that_lowers_its_cost() {
    let pg = Postgres::start("shared_preload_libraries = 'pg_stat_statements,pg_qualstats'\npg_qualstats.sample_rate = 1");
    pg.psql("postgres", "CREATE DATABASE shop");
    pg.psql("postgres", "CREATE DATABASE bare");
    pg.psql("shop", "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_qualstats; CREATE EXTENSION hypopg");
    pg.psql("shop", "CREATE TABLE orders AS SELECT g AS id, g % 1000 AS customer, md5(g::text) AS note FROM generate_series(1, 100000) g; ANALYZE orders");
    pg.psql("postgres", "CREATE ROLE reader LOGIN; GRANT pg_read_all_stats, pg_read_all_data TO reader");
    for customer in [42, 7, 42, 999, 3] {
        pg.psql("shop", &format!("SELECT count(*) FROM orders WHERE customer = {customer}"));
    }
    let queryid: i64 = pg.psql("shop", "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM orders WHERE customer%'").parse().unwrap();
    let tables_before = pg.psql("shop", "SELECT count(*) FROM pg_class WHERE relkind = 'i'");

    let pg_names = pgscope::pgss::postgres::PgNames::new(pgscope::settings::postgres::PgConnection::parse(&format!("host=127.0.0.1 port={} user=reader dbname=postgres", pg.port)).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let advice = runtime.block_on(advice::advise(&pg_names, "shop", queryid)).unwrap();
    assert_eq!(advice.queryid, queryid.to_string());
    assert!(advice.example.contains("customer = "), "{}", advice.example);
    assert_eq!(advice.predicates.len(), 1, "{:?}", advice.predicates);
    assert_eq!((advice.predicates[0].table.as_str(), advice.predicates[0].column.as_str(), advice.predicates[0].operator.as_str()), ("public.orders", "customer", "="));
    let best = advice.candidates.first().unwrap_or_else(|| panic!("no candidate: {advice:?}"));
    assert_eq!(best.create_index, "CREATE INDEX ON public.orders (customer)");
    assert!(best.used && best.cost_after < best.cost_before / 2.0, "{best:?}");
    eprintln!("estimated cost {:.1} -> {:.1} with {}", best.cost_before, best.cost_after, best.create_index);
    assert_eq!(pg.psql("shop", "SELECT count(*) FROM pg_class WHERE relkind = 'i'"), tables_before, "nothing was created");

    let refused = runtime.block_on(advice::advise(&pg_names, "bare", queryid)).unwrap_err();
    assert!(refused.contains("needs the extensions pg_qualstats and hypopg in database bare"), "{refused}");
    let unknown = runtime.block_on(advice::advise(&pg_names, "shop", 12345)).unwrap_err();
    assert!(unknown.contains("no example of queryid 12345"), "{unknown}");

    // The same through the datasource's resource route, with the connection from secureJsonData.
    let datasource = pgscope::datasource::Datasource::new();
    let mut settings = support::instance("advice", "http://127.0.0.1:9", "{}");
    settings.decrypted_secure_json_data.insert("pgssConnection".into(), format!("host=127.0.0.1 port={} user=reader password=never-shown dbname=postgres", pg.port));
    let context = support::plugin_context(settings);
    let call = |url: &str| runtime.block_on(datasource.call_resource(Some(&context), "advice", url));
    let (code, body) = call(&format!("advice?queryid={queryid}&database=shop"));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["candidates"][0]["createIndex"], "CREATE INDEX ON public.orders (customer)");
    assert!(body["candidates"][0]["costAfter"].as_f64().unwrap() < body["candidates"][0]["costBefore"].as_f64().unwrap());
    let (code, body) = call(&format!("advice?queryid={queryid}&database=bare"));
    assert_eq!(code, 422);
    assert!(body["message"].as_str().unwrap().contains("pg_qualstats and hypopg"), "{body}");
    assert_eq!(call("advice?queryid=x&database=shop").0, 400);
    let without = support::plugin_context(support::instance("plain", "http://127.0.0.1:9", "{}"));
    let (code, body) = runtime.block_on(datasource.call_resource(Some(&without), "advice", &format!("advice?queryid={queryid}&database=shop")));
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("needs the PostgreSQL connection"), "{body}");
    assert!(!body.to_string().contains("never-shown"));
}
