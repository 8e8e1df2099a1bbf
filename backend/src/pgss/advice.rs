//! Index advice for one statement (issue 21), through a read-only PostgreSQL connection: the
//! predicates pg_qualstats saw for its queryid, candidate B-tree indexes on the filtered columns
//! tried as hypothetical indexes with hypopg (`hypopg_create_index`: nothing is written, the
//! index lives in this backend's memory, and is dropped with `hypopg_reset()` and a rolled-back
//! transaction), and the planner's estimated cost of pg_qualstats' example of the statement
//! before and after (EXPLAIN, never ANALYZE: the statement does not run).
//!
//! Needs, in the statement's database: the extensions pg_qualstats (in
//! shared_preload_libraries) and hypopg; a role with `pg_read_all_stats` (pg_qualstats' example
//! texts of other roles) and the privileges the statement's own EXPLAIN needs (SELECT on its
//! tables: `pg_read_all_data`); no write privilege. Refused with a message naming what is
//! missing otherwise.

use std::time::Duration;
use super::postgres::PgNames;

/// The whole advice (connect, predicates, every candidate) ends within this.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// At most this many candidate indexes are tried.
const MAX_CANDIDATES: usize = 8;

pub const PRIVILEGES: &str = "a role with pg_read_all_stats and SELECT on the statement's tables (pg_read_all_data), no write privilege; pg_qualstats (shared_preload_libraries) and hypopg created in the statement's database";

/// A column the statement filters on, as pg_qualstats recorded it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Predicate {
    /// Schema-qualified, quoted as an identifier where needed.
    pub table: String,
    pub column: String,
    pub operator: String,
    pub executions: i64,
    /// Rows the predicate removed (pg_qualstats' nbfiltered).
    pub filtered: i64,
}

/// One hypothetical index and the planner's estimate with it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub create_index: String,
    pub cost_before: f64,
    pub cost_after: f64,
    /// The plan with the hypothetical index uses it.
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Advice {
    pub queryid: String,
    pub database: String,
    /// The statement with constants (pg_qualstats' example), as EXPLAINed.
    pub example: String,
    pub predicates: Vec<Predicate>,
    /// Most cost saved first; only candidates the planner used.
    pub candidates: Vec<Candidate>,
}

/// The indexes to try: one per filtered column, and one over every equality column of a table
/// with more than one (equality first, then ranges), as `CREATE INDEX ON table (columns)`.
pub fn candidates(predicates: &[Predicate]) -> Vec<String> {
    let btree = |op: &str| matches!(op, "=" | "<" | ">" | "<=" | ">=");
    let mut out: Vec<String> = Vec::new();
    let mut push = |table: &str, columns: &[&str]| {
        let sql = format!("CREATE INDEX ON {table} ({})", columns.join(", "));
        if !out.contains(&sql) {
            out.push(sql);
        }
    };
    let mut tables: Vec<&str> = predicates.iter().map(|p| p.table.as_str()).collect();
    tables.dedup();
    for table in tables {
        let mut equal: Vec<&str> = Vec::new();
        let mut range: Vec<&str> = Vec::new();
        for p in predicates.iter().filter(|p| p.table == table && btree(&p.operator)) {
            let list = if p.operator == "=" { &mut equal } else { &mut range };
            if !list.contains(&p.column.as_str()) {
                list.push(&p.column);
            }
        }
        for column in equal.iter().chain(&range) {
            push(table, &[column]);
        }
        if equal.len() + range.len() > 1 {
            let all: Vec<&str> = equal.iter().chain(&range).copied().collect();
            push(table, &all);
        }
    }
    out.truncate(MAX_CANDIDATES);
    out
}

/// The estimated total cost and the index names of an `EXPLAIN (FORMAT JSON)` answer.
pub fn plan_cost(explain: &serde_json::Value) -> Option<(f64, Vec<String>)> {
    let plan = explain.get(0)?.get("Plan")?;
    let cost = plan.get("Total Cost")?.as_f64()?;
    let mut indexes = Vec::new();
    let mut stack = vec![plan];
    while let Some(node) = stack.pop() {
        if let Some(name) = node.get("Index Name").and_then(|n| n.as_str()) {
            indexes.push(name.to_string());
        }
        stack.extend(node.get("Plans").and_then(|p| p.as_array()).into_iter().flatten());
    }
    Some((cost, indexes))
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// The advice for `queryid` in `database`, over `pg`'s connection (its dbname replaced, its TLS
/// kept).
pub async fn advise(pg: &PgNames, database: &str, queryid: i64) -> Result<Advice, String> {
    tokio::time::timeout(TIMEOUT, advise_within(pg, database, queryid)).await.unwrap_or_else(|_| Err(format!("index advice: no answer from PostgreSQL within {} s", TIMEOUT.as_secs())))
}

async fn advise_within(pg: &PgNames, database: &str, queryid: i64) -> Result<Advice, String> {
    let client = pg.connect_to(Some(database)).await.map_err(|e| format!("index advice: cannot connect to database {database}: {e}"))?;
    client
        .batch_execute(&format!("SET default_transaction_read_only = on; SET statement_timeout = {}", TIMEOUT.as_millis()))
        .await
        .map_err(|e| describe(&e))?;
    let present: Vec<String> = client
        .query("SELECT extname::text FROM pg_extension WHERE extname IN ('pg_qualstats', 'hypopg')", &[])
        .await
        .map_err(|e| describe(&e))?
        .iter()
        .filter_map(|r| r.try_get::<_, String>(0).ok())
        .collect();
    let missing: Vec<&str> = ["pg_qualstats", "hypopg"].into_iter().filter(|e| !present.iter().any(|p| p == e)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "index advice needs the extension{} {} in database {database} (CREATE EXTENSION {}; pg_qualstats also in shared_preload_libraries); pgscope creates nothing itself",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(" and "),
            missing.join(", ")
        ));
    }
    let example: Option<String> = client
        .query_one("SELECT pg_qualstats_example_query($1)", &[&queryid])
        .await
        .map_err(|e| format!("index advice: pg_qualstats_example_query failed: {}", describe(&e)))?
        .try_get(0)
        .map_err(|e| e.to_string())?;
    let example = example.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        format!("index advice: pg_qualstats has no example of queryid {queryid} in database {database} yet (it samples pg_qualstats.sample_rate of the executions; run the statement again, or the role lacks pg_read_all_stats)")
    })?;
    let rows = client
        .query(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(a.attname), o.oprname::text, \
                    sum(q.execution_count)::int8, sum(q.nbfiltered)::int8 \
             FROM pg_qualstats q \
             JOIN pg_class c ON c.oid = q.lrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = q.lrelid AND a.attnum = q.lattnum \
             JOIN pg_operator o ON o.oid = q.opno \
             WHERE q.queryid = $1 AND q.lrelid IS NOT NULL AND q.lattnum IS NOT NULL AND c.relkind IN ('r', 'm', 'p') \
             GROUP BY 1, 2, 3 ORDER BY 5 DESC, 1, 2, 3",
            &[&queryid],
        )
        .await
        .map_err(|e| format!("index advice: reading pg_qualstats failed: {}", describe(&e)))?;
    let predicates: Vec<Predicate> = rows
        .iter()
        .filter_map(|r| {
            Some(Predicate { table: r.try_get(0).ok()?, column: r.try_get(1).ok()?, operator: r.try_get(2).ok()?, executions: r.try_get(3).unwrap_or(0), filtered: r.try_get(4).unwrap_or(0) })
        })
        .collect();
    let mut tried = Vec::new();
    for create_index in candidates(&predicates) {
        client.batch_execute("BEGIN READ ONLY").await.map_err(|e| describe(&e))?;
        let attempt = try_candidate(&client, &example, &create_index).await;
        let _ = client.batch_execute("ROLLBACK").await;
        let _ = client.query("SELECT hypopg_reset()", &[]).await;
        tried.push(attempt?);
    }
    let mut candidates: Vec<Candidate> = tried.into_iter().filter(|c| c.used && c.cost_after < c.cost_before).collect();
    candidates.sort_by(|a, b| (a.cost_after - a.cost_before).total_cmp(&(b.cost_after - b.cost_before)).then_with(|| a.create_index.cmp(&b.create_index)));
    Ok(Advice { queryid: queryid.to_string(), database: database.to_string(), example, predicates, candidates })
}

/// A `json` column as its text (EXPLAIN (FORMAT JSON) answers one).
struct JsonText(String);

impl<'a> tokio_postgres::types::FromSql<'a> for JsonText {
    fn from_sql(_: &tokio_postgres::types::Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(JsonText(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::JSON || *ty == tokio_postgres::types::Type::TEXT
    }
}

async fn explain_cost(client: &tokio_postgres::Client, example: &str) -> Result<(f64, Vec<String>), String> {
    // The extended protocol runs one statement only: a text with several cannot run more.
    let row = client.query_one(&format!("EXPLAIN (FORMAT JSON) {example}"), &[]).await.map_err(|e| format!("index advice: EXPLAIN of the example failed: {}", describe(&e)))?;
    let JsonText(text) = row.try_get(0).map_err(|e| e.to_string())?;
    let plan: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("index advice: EXPLAIN's JSON: {e}"))?;
    plan_cost(&plan).ok_or_else(|| "index advice: EXPLAIN gave no total cost".to_string())
}

async fn try_candidate(client: &tokio_postgres::Client, example: &str, create_index: &str) -> Result<Candidate, String> {
    let (cost_before, _) = explain_cost(client, example).await?;
    let row = client
        .query_one("SELECT indexname::text FROM hypopg_create_index($1)", &[&create_index])
        .await
        .map_err(|e| format!("index advice: hypopg_create_index({create_index}) failed: {}", describe(&e)))?;
    let name: String = row.try_get(0).map_err(|e| e.to_string())?;
    let (cost_after, indexes) = explain_cost(client, example).await?;
    Ok(Candidate { create_index: create_index.to_string(), cost_before, cost_after, used: indexes.iter().any(|i| i == &name) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(table: &str, column: &str, operator: &str) -> Predicate {
        Predicate { table: table.into(), column: column.into(), operator: operator.into(), executions: 1, filtered: 1 }
    }

    #[test]
    fn candidates_per_column_then_equality_before_range() {
        let c = candidates(&[p("public.t", "b", "<"), p("public.t", "a", "="), p("public.t", "a", "="), p("public.u", "x", "~~"), p("public.u", "y", "=")]);
        assert_eq!(c, ["CREATE INDEX ON public.t (a)", "CREATE INDEX ON public.t (b)", "CREATE INDEX ON public.t (a, b)", "CREATE INDEX ON public.u (y)"]);
        assert!(candidates(&[p("public.u", "x", "~~")]).is_empty(), "LIKE gets no B-tree candidate");
    }

    #[test]
    fn plan_costs_and_the_indexes_used_are_read_from_explain_json() {
        let plan = serde_json::json!([{"Plan": {"Node Type": "Nested Loop", "Total Cost": 12.5, "Plans": [
            {"Node Type": "Index Scan", "Index Name": "<13801>btree_t_b", "Total Cost": 8.3},
            {"Node Type": "Seq Scan", "Total Cost": 4.0}]}}]);
        assert_eq!(plan_cost(&plan), Some((12.5, vec!["<13801>btree_t_b".to_string()])));
        assert_eq!(plan_cost(&serde_json::json!({"nope": 1})), None);
    }
}
