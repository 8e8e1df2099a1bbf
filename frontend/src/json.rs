//! A small JSON reader for the props (model.rs `parse_packed`): the text the glue sends becomes
//! a `Value` tree. It replaces serde_json in the panel, which with serde's derived visitors
//! was ~50 KB of the wasm (issue 19, the wasm diet). Part of the model: pure Rust, tested
//! natively; any input gives a `Value` or an error message, never a panic (nesting is bounded,
//! so a deep document cannot overflow the stack).

use std::borrow::Cow;

/// An object's key: one of the props' own keys (`KEYS`) without an allocation of its own, any
/// other as read.
pub type Key = Cow<'static, str>;

/// The keys the props repeat for every frame and field (js/props.js `panelProps`, the
/// pgscope frames' meta): read as these, a refresh with 5,000 sparkline frames allocates
/// ~100,000 strings fewer (issue 19).
const KEYS: [&str; 21] = [
    "name", "refId", "meta", "notices", "custom", "fields", "type", "labels", "config", "values", "packed", "severity", "text", "pgscope",
    "measure", "displayName", "displayNameFromDS", "unit", "database", "queryid", "series",
];

/// A JSON value. Objects keep their members in order (a repeated key: the first one is read).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// An integer literal, exact (queryids written as numbers keep every digit).
    Int(Int),
    Float(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(Key, Value)>),
}

/// An i128 kept as two halves: an i128 is 16-byte aligned in wasm, which made every list of
/// values an over-aligned allocation (dlmalloc's slower `memalign`) and each value 32 bytes
/// instead of 24 (issue 19, the refresh).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Int([u64; 2]);

impl Int {
    pub fn get(self) -> i128 {
        ((u128::from(self.0[0]) << 64) | u128::from(self.0[1])) as i128
    }
}

impl From<i128> for Int {
    fn from(i: i128) -> Self {
        Int([((i as u128) >> 64) as u64, i as u64])
    }
}

/// How deep arrays and objects may nest (serde_json's limit too).
const MAX_DEPTH: usize = 128;

impl Value {
    /// Member `key` of an object; None for a missing key and for anything but an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i.get() as f64),
            Value::Float(x) => Some(x),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The member `key` taken out of an object (for moving strings into the props' types).
    pub fn take(&mut self, key: &str) -> Value {
        match self {
            Value::Object(members) => members.iter_mut().find(|(k, _)| k == key).map(|(_, v)| std::mem::replace(v, Value::Null)).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// A string moved out, None for anything else.
    pub fn into_string(self) -> Option<String> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The items of an array, none for anything else.
    pub fn into_items(self) -> Vec<Value> {
        match self {
            Value::Array(items) => items,
            _ => Vec::new(),
        }
    }
}

/// Parses one JSON document (whitespace around it allowed, nothing else after it). The props
/// are read through `Pull`; this serves the tests.
#[cfg(test)]
pub fn parse(text: &str) -> Result<Value, String> {
    let mut reader = Pull::new(text);
    let value = reader.value()?;
    reader.end().map(|_| value)
}

/// A reader for documents whose shape the caller knows (model.rs reads the props' frames and
/// fields this way): lists and objects are read item by item and member by member, the values
/// the caller wants as `Value`s, without a `Value` for every object and list on the way (a
/// refresh with 5,000 sparkline frames built and took apart ~50,000 of them, issue 19). Any
/// text reads as `parse` reads it: the same errors at the same places, nesting bounded alike.
pub struct Pull<'a> {
    reader: Reader<'a>,
    /// The depth of the value the reader is at (`Reader::value`'s).
    depth: usize,
}

impl<'a> Pull<'a> {
    pub fn new(text: &'a str) -> Self {
        Pull { reader: Reader { text, bytes: text.as_bytes(), at: 0 }, depth: 0 }
    }

    /// The value the reader is at.
    pub fn value(&mut self) -> Result<Value, String> {
        self.reader.value(self.depth)
    }

    /// The object the reader is at, member by member: for each, `streamed(self, key)` reads
    /// the value itself and says true, or says false and the value is read as a `Value`: the
    /// first of each of `keys` is returned in their order (Null when missing, as
    /// `Value::take` gives), any other dropped. Anything but an object is read and dropped (all
    /// Null).
    pub fn members<const N: usize>(&mut self, keys: [&str; N], streamed: &mut dyn FnMut(&mut Self, &str) -> Result<bool, String>) -> Result<[Value; N], String> {
        let mut found: [Option<Value>; N] = std::array::from_fn(|_| None);
        self.reader.space();
        if self.reader.bytes.get(self.reader.at) != Some(&b'{') || self.depth >= MAX_DEPTH {
            self.value()?;
            return Ok(std::array::from_fn(|_| Value::Null));
        }
        self.reader.at += 1;
        self.depth += 1;
        let mut done = self.reader.closes(b'}');
        while !done {
            let key = self.reader.member_key()?;
            if !streamed(self, &key)? {
                let value = self.value()?;
                if let Some(slot) = keys.iter().position(|k| *k == key).map(|i| &mut found[i]) {
                    slot.get_or_insert(value);
                }
            }
            done = self.reader.comma_or(b'}')?;
        }
        self.depth -= 1;
        Ok(found.map(|v| v.unwrap_or(Value::Null)))
    }

    /// The list the reader is at, `item(self)` reading each item; anything else is read and
    /// dropped.
    pub fn items(&mut self, item: &mut dyn FnMut(&mut Self) -> Result<(), String>) -> Result<(), String> {
        self.reader.space();
        if self.reader.bytes.get(self.reader.at) != Some(&b'[') || self.depth >= MAX_DEPTH {
            return self.value().map(drop);
        }
        self.reader.at += 1;
        self.depth += 1;
        let mut done = self.reader.closes(b']');
        while !done {
            item(self)?;
            done = self.reader.comma_or(b']')?;
        }
        self.depth -= 1;
        Ok(())
    }

    /// The end of the document: only whitespace may follow.
    pub fn end(mut self) -> Result<(), String> {
        self.reader.space();
        if self.reader.at < self.reader.bytes.len() {
            return Err(self.reader.error("trailing characters"));
        }
        Ok(())
    }
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.at)
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("expected value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        self.space();
        match self.bytes.get(self.at) {
            None => Err(self.error("EOF while parsing a value")),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') | Some(b'{') if depth >= MAX_DEPTH => Err(self.error("nested too deeply")),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                let mut done = self.closes(b']');
                while !done {
                    items.push(self.value(depth + 1)?);
                    done = self.comma_or(b']')?;
                }
                Ok(Value::Array(items))
            }
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                let mut done = self.closes(b'}');
                while !done {
                    let key = self.member_key()?;
                    let value = self.value(depth + 1)?;
                    members.push((key, value));
                    done = self.comma_or(b'}')?;
                }
                Ok(Value::Object(members))
            }
            Some(_) => Err(self.error("expected value")),
        }
    }

    /// Whether the array or object just opened closes at once with `close` (read if so).
    fn closes(&mut self, close: u8) -> bool {
        self.space();
        let empty = self.bytes.get(self.at) == Some(&close);
        self.at += usize::from(empty);
        empty
    }

    /// After an item: false at a comma (another item follows), true at `close`; both read.
    fn comma_or(&mut self, close: u8) -> Result<bool, String> {
        self.space();
        match self.bytes.get(self.at) {
            Some(b',') => {
                self.at += 1;
                Ok(false)
            }
            Some(&b) if b == close => {
                self.at += 1;
                Ok(true)
            }
            _ => Err(self.error(if close == b']' { "expected `,` or `]`" } else { "expected `,` or `}`" })),
        }
    }

    /// A number: an integer literal exactly (when it fits), anything else as a float
    /// (`decimal`).
    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        let negative = self.bytes.get(self.at) == Some(&b'-');
        self.at += usize::from(negative);
        // The first 19 significant digits and the power of ten they are scaled by.
        let (mut mantissa, mut scale) = (0u64, 0i32);
        let mut digits = |reader: &mut Self, fraction: bool| {
            let from = reader.at;
            while let Some(&b @ b'0'..=b'9') = reader.bytes.get(reader.at) {
                reader.at += 1;
                if mantissa < 1_000_000_000_000_000_000 {
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                    scale -= i32::from(fraction);
                } else {
                    scale += i32::from(!fraction);
                }
            }
            reader.at > from
        };
        if !digits(self, false) {
            return Err(self.error("invalid number"));
        }
        let mut integer = true;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            integer = false;
            if !digits(self, true) {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            integer = false;
            let sign = match self.bytes.get(self.at) {
                Some(b'-') => -1,
                Some(b'+') => 1,
                _ => 0,
            };
            self.at += usize::from(sign != 0);
            let from = self.at;
            let mut exponent = 0i32;
            while let Some(&b @ b'0'..=b'9') = self.bytes.get(self.at) {
                self.at += 1;
                exponent = exponent.saturating_mul(10).saturating_add(i32::from(b - b'0'));
            }
            if self.at == from {
                return Err(self.error("invalid number"));
            }
            scale = scale.saturating_add(if sign < 0 { -exponent } else { exponent });
        }
        if integer && scale == 0 {
            // Every digit is in the mantissa (at most 19 of them): exact without a parse.
            let i = i128::from(mantissa);
            return Ok(Value::Int(if negative { -i } else { i }.into()));
        }
        if integer {
            if let Ok(i) = self.text[start..self.at].parse::<i128>() {
                return Ok(Value::Int(i.into()));
            }
        }
        let magnitude = decimal(mantissa, scale);
        Ok(Value::Float(if negative { -magnitude } else { magnitude }))
    }

    /// A member's key and the `:` after it, read.
    fn member_key(&mut self) -> Result<Key, String> {
        self.space();
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a key"));
        }
        let key = self.key()?;
        self.space();
        if self.bytes.get(self.at) != Some(&b':') {
            return Err(self.error("expected `:`"));
        }
        self.at += 1;
        Ok(key)
    }

    /// An object's key (the reader is at its opening quote): one of `KEYS` borrowed, any
    /// other key (or one with escapes) read as a string.
    fn key(&mut self) -> Result<Key, String> {
        let start = self.at + 1;
        let end = self.bytes[start..].iter().position(|&b| b == b'"' || b == b'\\').map(|n| start + n);
        if let Some(known) = end.filter(|&end| self.bytes[end] == b'"').and_then(|end| KEYS.iter().find(|k| k.as_bytes() == &self.bytes[start..end])) {
            self.at = start + known.len() + 1;
            return Ok(Cow::Borrowed(known));
        }
        self.string().map(Cow::Owned)
    }

    /// A string (the reader is at its opening quote), escapes decoded; a lone surrogate
    /// escape reads as U+FFFD.
    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let run = self.at;
            while let Some(&b) = self.bytes.get(self.at) {
                if b == b'"' || b == b'\\' {
                    break;
                }
                self.at += 1;
            }
            // Quotes and backslashes are ASCII: the run ends on a char boundary.
            out.push_str(&self.text[run..self.at]);
            match self.bytes.get(self.at) {
                None => return Err(self.error("EOF while parsing a string")),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                _ => {
                    let escape = self.bytes.get(self.at + 1).copied();
                    self.at += 2;
                    match escape {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high) && self.bytes[self.at..].starts_with(b"\\u") {
                                let at = self.at;
                                self.at += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                                } else {
                                    self.at = at; // not a pair: read the second escape on its own
                                    0xFFFD
                                }
                            } else {
                                high
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.text.get(self.at..self.at + 4).ok_or_else(|| self.error("invalid \\u escape"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))?;
        self.at += 4;
        Ok(code)
    }
}

/// The whole of `text` as a JSON number (table.rs compares label values by it), None for
/// anything else.
pub fn number(text: &str) -> Option<f64> {
    let mut reader = Reader { text, bytes: text.as_bytes(), at: 0 };
    match reader.bytes.first() {
        Some(b'-' | b'0'..=b'9') => reader.number().ok().filter(|_| reader.at == text.len())?.as_f64(),
        _ => None,
    }
}

/// `mantissa` x 10^`scale` as an f64: correctly rounded when the mantissa is below 2^53 and
/// |scale| <= 22 (one exact product or quotient: every figure JSON.stringify writes for the
/// props), within a few units in the last place beyond (the very largest doubles, within
/// those units of f64::MAX, may read as infinity). The panel's own reader instead of
/// `str::parse::<f64>`, whose tables are ~15 KB of the wasm.
fn decimal(mantissa: u64, scale: i32) -> f64 {
    const POW10: [f64; 23] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
    let m = mantissa as f64;
    if mantissa == 0 {
        return 0.0;
    }
    match usize::try_from(scale.unsigned_abs()).unwrap_or(usize::MAX) {
        n if n < POW10.len() && scale >= 0 => m * POW10[n],
        n if n < POW10.len() => m / POW10[n],
        _ if scale > 0 => m * 10f64.powi(scale.min(400)),
        // Divided in two steps, so 10^-scale itself never overflows before a subnormal result.
        _ => m / 1e22 / 10f64.powi((-22 - scale).min(400)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_json_stringify_writes() {
        let v = parse(" {\"a\": [1, -2.5e3, 18446744073709551615, 1e400, true, false, null], \"s\": \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00é\", \"o\": {}} ").unwrap();
        let a = v.get("a").unwrap().as_array().unwrap();
        assert_eq!(a[..4], [Value::Int(1.into()), Value::Float(-2500.0), Value::Int(18_446_744_073_709_551_615.into()), Value::Float(f64::INFINITY)]);
        assert_eq!(a[4..], [Value::Bool(true), Value::Bool(false), Value::Null]);
        assert_eq!(v.get("s").and_then(Value::as_str), Some("x\"\\/\u{8}\u{c}\n\r\té😀é"));
        assert_eq!(v.get("o"), Some(&Value::Object(Vec::new())));
        assert_eq!((v.get("missing"), a[0].get("a"), a[0].as_f64(), a[1].as_str()), (None, None, Some(1.0), None));
        assert_eq!(parse("\"\\ud800\\u0041\"").unwrap(), Value::String("\u{FFFD}A".into()));
        for i in [0, -1, 1, i128::from(i64::MIN), i128::MIN, i128::MAX] {
            assert_eq!(parse(&i.to_string()).unwrap(), Value::Int(i.into()));
            assert_eq!(Int::from(i).get(), i, "{i}: both halves kept");
        }
    }

    #[test]
    fn floats_read_as_rust_reads_them() {
        // Exact (one correctly rounded product or quotient) in the usual range; a few units in
        // the last place at most beyond it.
        let exact = ["0.1", "1.5", "-2.5e3", "0.000123", "123456.789", "1e22", "9007199254740991.5", "3.14159265358979", "-0.0", "1E-7", "0.30000000000000004"];
        for text in exact {
            assert_eq!(number(text), Some(text.parse::<f64>().unwrap()), "{text}");
        }
        for text in ["1.5e308", "2.2250738585072014e-308", "1e-320", "123456789012345678901234567890.5", "1.00000000000000000000000001", "4.9e-324"] {
            let (ours, rust) = (number(text).unwrap(), text.parse::<f64>().unwrap());
            assert!((ours - rust).abs() <= rust.abs() * 1e-14 || (ours - rust).abs() < 1e-320, "{text}: {ours} vs {rust}");
        }
        assert_eq!((number("1e999"), number("-1e999"), number("1e-999")), (Some(f64::INFINITY), Some(f64::NEG_INFINITY), Some(0.0)));
        assert_eq!((number("12"), number("-7")), (Some(12.0), Some(-7.0)));
        for text in ["", "x", "1x", " 1", "1 ", "+1", ".5", "1.", "--1", "1e", "inf", "NaN"] {
            assert_eq!(number(text), None, "{text:?}");
        }
    }

    #[test]
    fn odd_text_is_an_error_never_a_panic() {
        for text in ["", " ", "{", "[", "[1,", "[1 2]", "{\"a\" 1}", "{\"a\":1,}", "{1:2}", "nul", "tru", "-", "1.", "1e", "01x", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\\u12\"", "1 2", "é", "\"é", "[\"\\"] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).unwrap_err().contains("nested too deeply"));
        assert!(parse(&("[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH))).is_ok());
    }

    #[test]
    fn pulled_members_read_as_the_whole_value_reads_them() {
        let text = r#"{"a": 1, "list": [{"x": "1"}, 7, {"x": 2, "x": 3}], "a": 2, "list": [], "b": {"c": [true]}}"#;
        let mut reader = Pull::new(text);
        let mut items = Vec::new();
        let [a, b, missing] = reader
            .members(["a", "b", "missing"], &mut |reader, key| {
                if key != "list" || !items.is_empty() {
                    return Ok(false);
                }
                reader.items(&mut |reader| reader.members(["x"], &mut |_, _| Ok(false)).map(|[x]| items.push(x)))?;
                Ok(true)
            })
            .unwrap();
        reader.end().unwrap();
        let whole = parse(text).unwrap();
        assert_eq!([Some(&a), Some(&b), None], [whole.get("a"), whole.get("b"), whole.get("missing")], "the first of a repeated key");
        assert_eq!(missing, Value::Null);
        assert_eq!(items, [Value::String("1".into()), Value::Null, Value::Int(2.into())], "not an object: Null");
        for odd in ["[1]", "{\"a\" 1}", "{\"a\":1} x", "{\"a\":[1,}"] {
            let mut reader = Pull::new(odd);
            let read = reader.members(["a"], &mut |_, _| Ok(false)).and_then(|_| reader.end());
            assert_eq!(read.err(), parse(odd).err(), "{odd}");
        }
    }

    #[test]
    fn members_move_out() {
        let mut v = parse(r#"{"a":"x","b":[1]}"#).unwrap();
        assert_eq!(v.take("a").into_string(), Some("x".to_string()));
        assert_eq!(v.take("a"), Value::Null);
        assert_eq!(v.take("b").into_items(), [Value::Int(1.into())]);
        assert!(Value::Null.into_items().is_empty() && Value::Int(1.into()).into_string().is_none());
    }
}
