//! Grafana data frames: the model the backend builds, its JSON form and its Arrow IPC form.
//!
//! Why our own model and not `grafana_plugin_sdk::data::Frame`: the SDK 0.5.0 frame metadata has
//! no `type`/`typeVersion` (so it cannot say `timeseries-multi`), and its Arrow encoder writes a
//! field's labels only when the field has no config. Grafana's Prometheus datasource sets both,
//! and our frames must look exactly like its frames (shared/conformance/promlib).
//!
//! The JSON form is what Grafana's HTTP API returns (`{"schema":{..},"data":{"values":..}}`,
//! times in epoch milliseconds, NaN/±Inf as `null` with their rows listed under
//! `data.entities`). The Arrow form is what a backend plugin hands Grafana over gRPC: schema
//! metadata `name`, `refId`, `meta` (JSON); field metadata `name`, `labels`, `config` (JSON);
//! times as nanosecond timestamps. Not for: deciding what goes into a frame (see `prom::convert`).

use std::collections::BTreeMap;
use std::io::Cursor;

use grafana_plugin_sdk::arrow2::{
    array::{Array, PrimitiveArray, Utf8Array},
    chunk::Chunk,
    datatypes::{DataType, Field as ArrowField, Schema, TimeUnit},
    io::ipc::{read, write},
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Labels of one series, sorted by name as Grafana prints them.
pub type Labels = BTreeMap<String, String>;

/// One data frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub name: String,
    pub ref_id: String,
    pub meta: Option<FrameMeta>,
    pub fields: Vec<Field>,
}

/// Frame metadata, with the members our frames use (Grafana's `FrameMeta`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameMeta {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub frame_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub type_version: Option<[u32; 2]>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub custom: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notices: Vec<Notice>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub executed_query_string: Option<String>,
}

impl FrameMeta {
    /// Meta of a pgscope frame the panel recognises: `custom.pgscope = kind` plus `custom`, of
    /// Grafana frame type `frame_type` (`timeseries-multi` frames get data-plane version 0.1).
    pub fn pgscope(kind: &str, frame_type: &str, mut custom: Map<String, Value>) -> FrameMeta {
        custom.insert("pgscope".into(), kind.into());
        let type_version = (frame_type == "timeseries-multi").then_some([0, 1]);
        FrameMeta { frame_type: Some(frame_type.into()), type_version, custom: Some(custom), ..Default::default() }
    }
}

/// A message Grafana shows above the panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub severity: Severity,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Display hints attached to a field (a subset of Grafana's `FieldConfig`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldConfig {
    #[serde(rename = "displayNameFromDS", skip_serializing_if = "Option::is_none", default)]
    pub display_name_from_ds: Option<String>,
    /// The step between points, in milliseconds, on a time field.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interval: Option<f64>,
    /// Grafana's unit id (`s`, `bytes`, `Bps`, `ops`, `percentunit`, ...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unit: Option<String>,
}

/// One column.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// `None` and `Some(empty)` differ in Grafana's JSON (`labels` absent vs `{}`).
    pub labels: Option<Labels>,
    pub config: Option<FieldConfig>,
    pub values: Values,
}

/// A column's values. Times are epoch milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Time(Vec<i64>),
    Float64(Vec<f64>),
    String(Vec<String>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Time(v) => v.len(),
            Values::Float64(v) => v.len(),
            Values::String(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Grafana's `(type, typeInfo.frame)` for this column.
    fn grafana_type(&self) -> (&'static str, &'static str) {
        match self {
            Values::Time(_) => ("time", "time.Time"),
            Values::Float64(_) => ("number", "float64"),
            Values::String(_) => ("string", "string"),
        }
    }
}

impl Field {
    pub fn new(name: impl Into<String>, values: Values) -> Self {
        Field { name: name.into(), labels: None, config: None, values }
    }

    pub fn with_labels(mut self, labels: Labels) -> Self {
        self.labels = Some(labels);
        self
    }
}

/// Errors turning a frame into Arrow bytes or back.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame {frame:?}: field {field:?} has {got} rows, the first field has {want}")]
    RaggedFields { frame: String, field: String, got: usize, want: usize },
    #[error("arrow encoding failed: {0}")]
    Arrow(String),
    #[error("frame metadata is not valid JSON: {0}")]
    Meta(String),
    #[error("unsupported arrow column type {0:?}")]
    UnsupportedType(DataType),
}

impl From<grafana_plugin_sdk::arrow2::error::Error> for FrameError {
    fn from(e: grafana_plugin_sdk::arrow2::error::Error) -> Self {
        FrameError::Arrow(e.to_string())
    }
}

impl Frame {
    /// Grafana's JSON form of the frame (`{"schema":..,"data":..}`).
    pub fn to_json(&self) -> Value {
        let mut schema = Map::new();
        if !self.name.is_empty() {
            schema.insert("name".into(), json!(self.name));
        }
        if !self.ref_id.is_empty() {
            schema.insert("refId".into(), json!(self.ref_id));
        }
        if let Some(meta) = &self.meta {
            schema.insert("meta".into(), serde_json::to_value(meta).unwrap_or(Value::Null));
        }
        let fields: Vec<Value> = self.fields.iter().map(field_schema_json).collect();
        schema.insert("fields".into(), Value::Array(fields));

        let mut values = Vec::with_capacity(self.fields.len());
        let mut entities = Vec::with_capacity(self.fields.len());
        for field in &self.fields {
            let (column, special) = column_json(&field.values);
            values.push(column);
            entities.push(special);
        }
        let mut data = Map::new();
        data.insert("values".into(), Value::Array(values));
        if entities.iter().any(|e| !e.is_null()) {
            data.insert("entities".into(), Value::Array(entities));
        }
        json!({ "schema": Value::Object(schema), "data": Value::Object(data) })
    }

    /// Arrow IPC file bytes, as Grafana's Go SDK writes and reads them.
    pub fn to_arrow(&self) -> Result<Vec<u8>, FrameError> {
        let rows = self.fields.first().map_or(0, |f| f.values.len());
        let mut arrow_fields = Vec::with_capacity(self.fields.len());
        let mut columns: Vec<Box<dyn Array>> = Vec::with_capacity(self.fields.len());
        for field in &self.fields {
            if field.values.len() != rows {
                return Err(FrameError::RaggedFields {
                    frame: self.name.clone(),
                    field: field.name.clone(),
                    got: field.values.len(),
                    want: rows,
                });
            }
            let mut metadata = BTreeMap::new();
            metadata.insert("name".to_string(), field.name.clone());
            if let Some(labels) = &field.labels {
                metadata.insert("labels".to_string(), to_json_string(labels)?);
            }
            if let Some(config) = &field.config {
                metadata.insert("config".to_string(), to_json_string(config)?);
            }
            let (data_type, column): (DataType, Box<dyn Array>) = match &field.values {
                Values::Time(ms) => {
                    let nanos: Vec<i64> = ms.iter().map(|t| t.saturating_mul(1_000_000)).collect();
                    let data_type = DataType::Timestamp(TimeUnit::Nanosecond, None);
                    let array = PrimitiveArray::<i64>::from_vec(nanos).to(data_type.clone());
                    (data_type, Box::new(array))
                }
                Values::Float64(v) => {
                    (DataType::Float64, Box::new(PrimitiveArray::<f64>::from_slice(v)))
                }
                Values::String(v) => {
                    (DataType::Utf8, Box::new(Utf8Array::<i32>::from_slice(v)))
                }
            };
            arrow_fields.push(ArrowField::new(field.name.clone(), data_type, false).with_metadata(metadata));
            columns.push(column);
        }
        let mut schema_metadata = BTreeMap::new();
        schema_metadata.insert("name".to_string(), self.name.clone());
        schema_metadata.insert("refId".to_string(), self.ref_id.clone());
        if let Some(meta) = &self.meta {
            schema_metadata.insert("meta".to_string(), to_json_string(meta)?);
        }
        let schema = Schema::from(arrow_fields).with_metadata(schema_metadata);

        let mut buf = Vec::new();
        let mut writer =
            write::FileWriter::try_new(&mut buf, schema, None, write::WriteOptions { compression: None })?;
        if !columns.is_empty() {
            writer.write(&Chunk::try_new(columns)?, None)?;
        }
        writer.finish()?;
        Ok(buf)
    }

    /// Reads a frame back from Arrow IPC bytes (what a host does with the plugin's answer).
    pub fn from_arrow(bytes: &[u8]) -> Result<Frame, FrameError> {
        let mut cursor = Cursor::new(bytes);
        let metadata = read::read_file_metadata(&mut cursor)?;
        let schema = metadata.schema.clone();
        let reader = read::FileReader::new(cursor, metadata, None, None);
        let mut columns: Vec<Vec<Box<dyn Array>>> = vec![Vec::new(); schema.fields.len()];
        for chunk in reader {
            for (i, array) in chunk?.into_arrays().into_iter().enumerate() {
                columns[i].push(array);
            }
        }
        let mut fields = Vec::with_capacity(schema.fields.len());
        for (arrow_field, chunks) in schema.fields.iter().zip(columns) {
            let name = arrow_field.metadata.get("name").cloned().unwrap_or_else(|| arrow_field.name.clone());
            let labels = match arrow_field.metadata.get("labels") {
                Some(text) => Some(serde_json::from_str(text).map_err(|e| FrameError::Meta(e.to_string()))?),
                None => None,
            };
            let config = match arrow_field.metadata.get("config") {
                Some(text) => Some(serde_json::from_str(text).map_err(|e| FrameError::Meta(e.to_string()))?),
                None => None,
            };
            let values = values_from_arrow(&arrow_field.data_type, &chunks)?;
            fields.push(Field { name, labels, config, values });
        }
        let meta = match schema.metadata.get("meta") {
            Some(text) if !text.is_empty() => {
                Some(serde_json::from_str(text).map_err(|e| FrameError::Meta(e.to_string()))?)
            }
            _ => None,
        };
        Ok(Frame {
            name: schema.metadata.get("name").cloned().unwrap_or_default(),
            ref_id: schema.metadata.get("refId").cloned().unwrap_or_default(),
            meta,
            fields,
        })
    }
}

fn to_json_string<T: Serialize>(value: &T) -> Result<String, FrameError> {
    serde_json::to_string(value).map_err(|e| FrameError::Meta(e.to_string()))
}

fn values_from_arrow(data_type: &DataType, chunks: &[Box<dyn Array>]) -> Result<Values, FrameError> {
    let unsupported = || FrameError::UnsupportedType(data_type.clone());
    match data_type {
        DataType::Timestamp(unit, _) => {
            let per_ms = match unit {
                TimeUnit::Second => return Err(unsupported()),
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1_000_000,
            };
            let mut out = Vec::new();
            for chunk in chunks {
                let array = chunk.as_any().downcast_ref::<PrimitiveArray<i64>>().ok_or_else(unsupported)?;
                out.extend(array.iter().map(|v| v.map_or(0, |t| t / per_ms)));
            }
            Ok(Values::Time(out))
        }
        DataType::Float64 => {
            let mut out = Vec::new();
            for chunk in chunks {
                let array = chunk.as_any().downcast_ref::<PrimitiveArray<f64>>().ok_or_else(unsupported)?;
                out.extend(array.iter().map(|v| v.copied().unwrap_or(f64::NAN)));
            }
            Ok(Values::Float64(out))
        }
        DataType::Utf8 => {
            let mut out = Vec::new();
            for chunk in chunks {
                let array = chunk.as_any().downcast_ref::<Utf8Array<i32>>().ok_or_else(unsupported)?;
                out.extend(array.iter().map(|v| v.unwrap_or_default().to_string()));
            }
            Ok(Values::String(out))
        }
        _ => Err(unsupported()),
    }
}

fn field_schema_json(field: &Field) -> Value {
    let (simple_type, frame_type) = field.values.grafana_type();
    let mut schema = Map::new();
    schema.insert("name".into(), json!(field.name));
    schema.insert("type".into(), json!(simple_type));
    schema.insert("typeInfo".into(), json!({ "frame": frame_type }));
    if let Some(labels) = &field.labels {
        schema.insert("labels".into(), json!(labels));
    }
    if let Some(config) = &field.config {
        schema.insert("config".into(), serde_json::to_value(config).unwrap_or(Value::Null));
    }
    Value::Object(schema)
}

/// A column's JSON values plus its `entities` entry (rows holding NaN, +Inf, -Inf), or null.
fn column_json(values: &Values) -> (Value, Value) {
    match values {
        Values::Time(v) => (json!(v), Value::Null),
        Values::String(v) => (json!(v), Value::Null),
        Values::Float64(v) => {
            let (mut nan, mut inf, mut neg_inf) = (Vec::new(), Vec::new(), Vec::new());
            let column = v
                .iter()
                .enumerate()
                .map(|(row, x)| {
                    if x.is_nan() {
                        nan.push(row);
                    } else if *x == f64::INFINITY {
                        inf.push(row);
                    } else if *x == f64::NEG_INFINITY {
                        neg_inf.push(row);
                    } else {
                        return json!(x);
                    }
                    Value::Null
                })
                .collect();
            let mut special = Map::new();
            for (key, rows) in [("NaN", nan), ("Inf", inf), ("NegInf", neg_inf)] {
                if !rows.is_empty() {
                    special.insert(key.into(), json!(rows));
                }
            }
            let entities = if special.is_empty() { Value::Null } else { Value::Object(special) };
            (Value::Array(column), entities)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Frame {
        let mut labels = Labels::new();
        labels.insert("job".into(), "node".into());
        Frame {
            name: "up".into(),
            ref_id: "A".into(),
            meta: Some(FrameMeta {
                frame_type: Some("timeseries-multi".into()),
                type_version: Some([0, 1]),
                notices: vec![Notice { severity: Severity::Warning, text: "careful".into() }],
                executed_query_string: Some("Expr: up".into()),
                ..Default::default()
            }),
            fields: vec![
                Field::new("Time", Values::Time(vec![1_000, 2_000, 3_000])),
                Field {
                    config: Some(FieldConfig { display_name_from_ds: Some("node".into()), ..Default::default() }),
                    ..Field::new("Value", Values::Float64(vec![1.5, f64::INFINITY, 2.0])).with_labels(labels)
                },
            ],
        }
    }

    #[test]
    fn arrow_round_trip_keeps_labels_config_and_meta() {
        let frame = sample();
        let back = Frame::from_arrow(&frame.to_arrow().unwrap()).unwrap();
        assert_eq!(back.to_json(), frame.to_json());
        assert_eq!(back.meta.unwrap().frame_type.as_deref(), Some("timeseries-multi"));
    }

    #[test]
    fn arrow_round_trip_of_a_frame_without_fields() {
        let frame = Frame { name: "Warnings".into(), ..Default::default() };
        let back = Frame::from_arrow(&frame.to_arrow().unwrap()).unwrap();
        assert_eq!(back, frame);
    }

    #[test]
    fn special_floats_become_null_with_entities() {
        let json = sample().to_json();
        assert_eq!(json["data"]["values"][1], json!([1.5, null, 2.0]));
        assert_eq!(json["data"]["entities"], json!([null, {"Inf": [1]}]));
    }

    #[test]
    fn ragged_fields_are_an_error_not_a_panic() {
        let mut frame = sample();
        frame.fields[1].values = Values::Float64(vec![1.0]);
        assert!(matches!(frame.to_arrow(), Err(FrameError::RaggedFields { .. })));
    }

    #[test]
    fn garbage_bytes_are_an_error() {
        assert!(Frame::from_arrow(b"not arrow at all").is_err());
    }
}
