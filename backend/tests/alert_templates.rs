//! The provisioned alert rules' labels and annotations, rendered the way each evaluator renders
//! them for a sample evaluation, so a template that cannot render (or prints the wrong thing)
//! fails here instead of in someone's notification.
//!
//! Grafana-managed rules (provisioning/alerting), as pkg/services/ngalert/state/template does:
//! the data is `{Labels, Values, Value}` where `$labels` are the instance's labels merged with the
//! rule's, `$values` maps every refId that produced a number (the query A and the condition B) to
//! `{Labels, Value float64}`, and `$value` is the evaluation *string*
//! (`[ var='A' labels={...} value=0.07 ], [ var='B' ... ]`); Prometheus' template functions
//! (`humanize*` convert their argument with strconv.ParseFloat, which fails on that string);
//! `missingkey=invalid` (a missing label prints `<no value>`, shown as `[no value]`); an error
//! leaves the template text itself in the notification.
//!
//! Prometheus/vmalert rules (provisioning/rules): `$labels`, and `$value` the sample's float.
//!
//! The evaluator below is a small Go text/template subset (text, `{{ }}` with `-` trimming,
//! variables with field chains, string and number literals, function calls and pipelines);
//! anything else is an error, so a template using more fails loudly rather than passing.

use std::collections::BTreeMap;

// ---------------------------------------------------------------- Go's number formatting

/// Decimal digits (no leading/trailing zeros) and the decimal point position of |v|:
/// v = 0.d1d2d3... × 10^dp. `sig` rounds to that many significant digits; None is the shortest
/// representation that reads back as v (what Go's %v and strconv's -1 precision use).
fn decimal(v: f64, sig: Option<usize>) -> (String, i32) {
    let text = match sig {
        Some(n) => format!("{:.*e}", n.max(1) - 1, v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mantissa, exp) = text.split_once('e').unwrap();
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    (digits, exp.parse::<i32>().unwrap() + 1)
}

/// Go's strconv 'g' format: `prec` None is the shortest (fmt's %v), Some(n) is %.ng.
fn go_g(v: f64, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let shortest = prec.is_none();
    let (digits, dp) = decimal(v, prec);
    let nd = digits.len() as i32;
    let digit = |i: i32| if i >= 0 && i < nd { digits.as_bytes()[i as usize] as char } else { '0' };
    let mut prec = prec.map(|p| p as i32).unwrap_or(nd);
    let mut eprec = prec;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    // Go: "if precision was the shortest possible, use precision 6 for this decision".
    if shortest {
        eprec = 6;
    }
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        if prec > nd {
            prec = nd;
        }
        let mut out = format!("{sign}{}", digit(0));
        if prec > 1 {
            out.push('.');
            for i in 1..prec {
                out.push(digit(i));
            }
        }
        let e_sign = if exp < 0 { '-' } else { '+' };
        return format!("{out}e{e_sign}{:02}", exp.abs());
    }
    if prec > dp {
        prec = nd;
    }
    let decimals = (prec - dp).max(0);
    let mut out = sign.to_string();
    if dp > 0 {
        for i in 0..dp {
            out.push(digit(i));
        }
    } else {
        out.push('0');
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals {
            out.push(digit(dp + i));
        }
    }
    out
}

/// Prometheus' `humanize`: SI prefixes, four significant digits.
fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return go_g(v, Some(4));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", go_g(v, Some(4)))
}

// ---------------------------------------------------------------- values and the evaluator

/// What a template can hold. `Labels` and `Sample` print through their Go String() methods.
#[derive(Debug, Clone)]
enum V {
    Str(String),
    Float(f64),
    Labels(BTreeMap<String, String>),
    /// ngalert's template.Value{Labels, Value}.
    Sample(BTreeMap<String, String>, f64),
    Values(BTreeMap<String, V>),
    /// A missing map key under missingkey=invalid.
    NoValue,
}

fn labels_string(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// ngalert's Value.String(): two significant digits, no exponent.
fn sample_string(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let first = v.abs().log10().floor() as i32 + 1;
    format!("{:.*}", (2 - first).max(0) as usize, v)
}

fn print(v: &V) -> String {
    match v {
        V::Str(s) => s.clone(),
        V::Float(f) => go_g(*f, None),
        V::Labels(l) => labels_string(l),
        V::Sample(_, f) => sample_string(*f),
        V::Values(m) => format!("map[{}]", m.iter().map(|(k, v)| format!("{k}:{}", print(v))).collect::<Vec<_>>().join(" ")),
        V::NoValue => "<no value>".into(),
    }
}

/// Prometheus' template conversion of a function argument to float64.
fn to_float(v: &V) -> Result<f64, String> {
    match v {
        V::Float(f) => Ok(*f),
        V::Str(s) => s.trim().parse::<f64>().map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        other => Err(format!("can't convert {other:?} to float")),
    }
}

fn call(name: &str, args: &[V]) -> Result<V, String> {
    let one = || -> Result<&V, String> {
        match args {
            [a] => Ok(a),
            _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
        }
    };
    match name {
        "humanize" => Ok(V::Str(humanize(to_float(one()?)?))),
        "humanizePercentage" => Ok(V::Str(format!("{}%", go_g(to_float(one()?)? * 100.0, Some(4))))),
        "toUpper" => Ok(V::Str(print(one()?).to_uppercase())),
        "toLower" => Ok(V::Str(print(one()?).to_lowercase())),
        _ => Err(format!("function {name:?} not defined (in this evaluator)")),
    }
}

fn field(v: &V, name: &str) -> Result<V, String> {
    match v {
        V::Labels(m) => Ok(m.get(name).map(|s| V::Str(s.clone())).unwrap_or(V::NoValue)),
        V::Values(m) => Ok(m.get(name).cloned().unwrap_or(V::NoValue)),
        V::Sample(labels, value) => match name {
            "Labels" => Ok(V::Labels(labels.clone())),
            "Value" => Ok(V::Float(*value)),
            _ => Err(format!("can't evaluate field {name} in type template.Value")),
        },
        V::NoValue => Ok(V::NoValue),
        other => Err(format!("can't evaluate field {name} in type {other:?}")),
    }
}

fn tokens(action: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = action.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '|' {
            out.push("|".into());
            chars.next();
        } else if c == '"' {
            let mut s = String::from('"');
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => s.push(chars.next().ok_or("unterminated string")?),
                    Some(ch) => s.push(ch),
                    None => return Err("unterminated string".into()),
                }
            }
            out.push(s);
        } else if c == '(' || c == ')' || c == ':' || c == '=' {
            return Err(format!("unsupported syntax {c:?} in {action:?}"));
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '|' {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            out.push(s);
        }
    }
    Ok(out)
}

fn operand(token: &str, vars: &BTreeMap<&str, V>) -> Result<V, String> {
    if let Some(text) = token.strip_prefix('"') {
        return Ok(V::Str(text.to_string()));
    }
    if let Ok(f) = token.parse::<f64>() {
        return Ok(V::Float(f));
    }
    if token.starts_with('$') {
        let mut parts = token.split('.');
        let name = parts.next().unwrap();
        let mut v = vars.get(name).cloned().ok_or_else(|| format!("undefined variable {name:?}"))?;
        for f in parts {
            v = field(&v, f)?;
        }
        return Ok(v);
    }
    Err(format!("unsupported operand {token:?}"))
}

fn eval_action(action: &str, vars: &BTreeMap<&str, V>) -> Result<V, String> {
    let tokens = tokens(action)?;
    let mut result: Option<V> = None;
    for command in tokens.split(|t| t == "|") {
        let (head, rest) = command.split_first().ok_or("empty command in pipeline")?;
        if ["if", "else", "end", "range", "with", "define", "template", "block"].contains(&head.as_str()) {
            return Err(format!("unsupported action {head:?}"));
        }
        let is_function = head.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        let value = if is_function {
            let mut args = rest.iter().map(|t| operand(t, vars)).collect::<Result<Vec<_>, _>>()?;
            args.extend(result.take());
            call(head, &args)?
        } else {
            if !rest.is_empty() || result.is_some() {
                return Err(format!("can't give arguments to non-function {head:?}"));
            }
            operand(head, vars)?
        };
        result = Some(value);
    }
    result.ok_or_else(|| "missing value for command".into())
}

/// Expands `template` with `vars`, as Go's text/template then ngalert's "[no value]" swap do.
fn expand(template: &str, vars: &BTreeMap<&str, V>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        let mut inner = &rest[start + 2..];
        if let Some(trimmed) = inner.strip_prefix("- ") {
            text = text.trim_end();
            inner = trimmed;
        }
        out.push_str(text);
        let end = inner.find("}}").ok_or("unclosed action")?;
        let mut action = &inner[..end];
        let mut after = &inner[end + 2..];
        if let Some(trimmed) = action.strip_suffix(" -") {
            action = trimmed;
            after = after.trim_start();
        }
        out.push_str(&print(&eval_action(action, vars)?));
        rest = after;
    }
    out.push_str(rest);
    Ok(out.replace("<no value>", "[no value]"))
}

// ---------------------------------------------------------------- the rules and their samples

fn provisioning(path: &str) -> serde_yaml::Value {
    let path = format!("{}/../provisioning/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// What each rule's query returns for one firing series: its labels (those the expression keeps)
/// and its value. Every rule must have an entry, so a new rule cannot go unrendered.
fn sample(title: &str) -> (BTreeMap<String, String>, f64) {
    let target = labels(&[("job", "postgres"), ("instance", "db1:9187")]);
    let citus_node = labels(&[("job", "postgres"), ("instance", "coordinator:9187"), ("node", "w1:5432"), ("datname", "app")]);
    match title {
        "TargetDown" => (target, 0.0),
        "QueryInfoEndpointDown" => (labels(&[("job", "query-info"), ("instance", "db1:9188")]), 0.0),
        "ScrapeSampleCollapse" => (target, 1234.0),
        "PgssDataStale" => (labels(&[]), 412.5),
        "PgssStatementsEvicted" => (labels(&[("job", "postgres"), ("instance", "db1:9187"), ("server", "db1:5432")]), 29.0),
        "PgssStatementsNotExported" => (target, 20.0),
        "PatroniNoPrimary" => (labels(&[("scope", "main")]), 2.0),
        "PatroniTimelineChanged" => (labels(&[("job", "patroni"), ("instance", "db1:8008"), ("scope", "main")]), 1.0),
        "PatroniPaused" => (labels(&[("scope", "main")]), 1.0),
        "PgscopePluginErrors" => (labels(&[]), 0.0734),
        "CitusNodeInactive" | "CitusMetadataNotSynced" => (citus_node, 0.0),
        "CitusPlacementsInactive" => (citus_node, 2.0),
        other => panic!("rule {other} has no sample evaluation in this test: add one"),
    }
}

/// ngalert's evaluation string for the query A and the math condition B of one series.
fn evaluation_string(instance: &BTreeMap<String, String>, value: f64) -> String {
    let l = labels_string(instance);
    format!("[ var='A' labels={{{l}}} value={} ], [ var='B' labels={{{l}}} value=1 ]", go_g(value, None))
}

/// Grafana's data for one alert instance of `rule`.
fn grafana_vars<'a>(rule: &serde_yaml::Value, folder: &str) -> BTreeMap<&'a str, V> {
    let title = rule["title"].as_str().unwrap();
    let (instance, value) = sample(title);
    let mut template_labels = instance.clone();
    for (k, v) in rule["labels"].as_mapping().into_iter().flatten() {
        template_labels.insert(k.as_str().unwrap().into(), v.as_str().unwrap().into());
    }
    template_labels.insert("alertname".into(), title.into());
    template_labels.insert("grafana_folder".into(), folder.into());
    let mut values = BTreeMap::new();
    values.insert("A".to_string(), V::Sample(instance.clone(), value));
    values.insert("B".to_string(), V::Sample(instance.clone(), 1.0));
    BTreeMap::from([
        ("$labels", V::Labels(template_labels)),
        ("$values", V::Values(values)),
        ("$value", V::Str(evaluation_string(&instance, value))),
    ])
}

fn rendered_well(what: &str, template: &str, result: Result<String, String>) -> Result<String, String> {
    let text = result.map_err(|e| format!("{what}: {template:?} does not render: {e}"))?;
    if text.contains("[no value]") {
        return Err(format!("{what}: {template:?} names something the evaluation lacks: {text:?}"));
    }
    if text.contains("var='") {
        return Err(format!("{what}: {template:?} prints the evaluation string: {text:?}"));
    }
    Ok(text)
}

/// Renders one template into `rendered` under `what`, or says why it is wrong in `errors`.
fn render_into(what: String, template: &str, vars: &BTreeMap<&str, V>, rendered: &mut BTreeMap<String, String>, errors: &mut Vec<String>) {
    match rendered_well(&what, template, expand(template, vars)) {
        Ok(text) => {
            rendered.insert(what, text);
        }
        Err(e) => errors.push(e),
    }
}

fn render_grafana_rules(doc: &serde_yaml::Value) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut rendered = BTreeMap::new();
    let mut errors = Vec::new();
    for group in doc["groups"].as_sequence().unwrap() {
        let folder = group["folder"].as_str().unwrap();
        for rule in group["rules"].as_sequence().unwrap() {
            let title = rule["title"].as_str().unwrap();
            let vars = grafana_vars(rule, folder);
            for part in ["annotations", "labels"] {
                for (k, v) in rule[part].as_mapping().into_iter().flatten() {
                    let what = format!("{title} {part}.{}", k.as_str().unwrap());
                    render_into(what, v.as_str().unwrap(), &vars, &mut rendered, &mut errors);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(rendered)
    } else {
        Err(errors)
    }
}

#[test]
fn grafana_managed_rules_render_as_ngalert_renders_them() {
    let rendered = render_grafana_rules(&provisioning("alerting/pgscope-stack.yaml")).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(rendered["PgscopePluginErrors annotations.summary"], "pgscope: 7.34% of queries fail");
    assert_eq!(rendered["PatroniNoPrimary annotations.summary"], "Patroni cluster main has 2 primaries");
    assert!(rendered["ScrapeSampleCollapse annotations.description"].contains("returned 1.234k samples"), "{rendered:#?}");
    assert_eq!(rendered["TargetDown annotations.summary"], "postgres target db1:9187 is down");
    assert_eq!(rendered["CitusPlacementsInactive annotations.summary"], "2 inactive shard placements on Citus node w1:5432");
    assert!(rendered["CitusNodeInactive annotations.description"].contains("marks w1:5432 (database app) inactive"), "{rendered:#?}");
}

#[test]
fn prometheus_rules_render_with_a_numeric_value() {
    let doc = provisioning("rules/pgscope-stack.rules.yml");
    let mut errors = Vec::new();
    let mut rendered = BTreeMap::new();
    for rule in doc["groups"][0]["rules"].as_sequence().unwrap() {
        let name = rule["alert"].as_str().unwrap();
        let (instance, value) = sample(name);
        let mut template_labels = instance;
        for (k, v) in rule["labels"].as_mapping().into_iter().flatten() {
            template_labels.insert(k.as_str().unwrap().into(), v.as_str().unwrap().into());
        }
        let vars = BTreeMap::from([("$labels", V::Labels(template_labels)), ("$value", V::Float(value))]);
        for (k, v) in rule["annotations"].as_mapping().into_iter().flatten() {
            let what = format!("{name} annotations.{}", k.as_str().unwrap());
            render_into(what, v.as_str().unwrap(), &vars, &mut rendered, &mut errors);
        }
    }
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(rendered["PgscopePluginErrors annotations.summary"], "pgscope: 7.34% of queries fail");
    assert_eq!(rendered["CitusPlacementsInactive annotations.summary"], "2 inactive shard placements on Citus node w1:5432");
    assert_eq!(rendered["PatroniNoPrimary annotations.summary"], "Patroni cluster main has 2 primaries");
}

#[test]
fn the_check_fails_on_value_in_a_grafana_managed_rule() {
    // The annotations as they were before: `$value` is a string in Grafana-managed rules.
    let doc: serde_yaml::Value = serde_yaml::from_str(
        r#"
groups:
- folder: pgscope
  rules:
  - title: PgscopePluginErrors
    labels: {severity: warning}
    annotations:
      summary: 'pgscope: {{ $value | humanizePercentage }} of queries fail'
  - title: PatroniNoPrimary
    annotations:
      summary: Patroni cluster {{ $labels.scope }} has {{ $value }} primaries
  - title: TargetDown
    annotations:
      summary: '{{ $labels.job }} target {{ $labels.nodename }} is down'
      value: '{{ humanize $values.A }}'
"#,
    )
    .unwrap();
    let errors = render_grafana_rules(&doc).unwrap_err();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(errors[0].contains("does not render: strconv.ParseFloat"), "{errors:#?}");
    assert!(errors[1].contains("prints the evaluation string"), "{errors:#?}");
    assert!(errors[2].contains("names something the evaluation lacks"), "{errors:#?}");
    assert!(errors[3].contains("does not render: can't convert"), "{errors:#?}");
}

#[test]
fn go_number_formatting() {
    let cases = [
        (2.0, None, "2"),
        (0.0734, None, "0.0734"),
        (1234567.0, None, "1.234567e+06"),
        (123456.0, None, "123456"),
        (0.00001, None, "1e-05"),
        (7.34, Some(4), "7.34"),
        (100.0, Some(4), "100"),
        (12345.0, Some(4), "1.234e+04"),
        (0.0001234, Some(4), "0.0001234"),
        (1.234, Some(4), "1.234"),
        (f64::NAN, None, "NaN"),
        (f64::INFINITY, Some(4), "+Inf"),
    ];
    for (v, prec, want) in cases {
        assert_eq!(go_g(v, prec), want, "{v} {prec:?}");
    }
    assert_eq!(humanize(1234.0), "1.234k");
    assert_eq!(humanize(0.5), "500m");
    assert_eq!(sample_string(0.0734), "0.073");
    assert_eq!(sample_string(2.0), "2.0");
    assert_eq!(expand("{{- $x -}} !", &BTreeMap::from([("$x", V::Str("a".into()))])).unwrap(), "a!");
}
