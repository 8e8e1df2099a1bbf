//! A one-pass reader for the answers that carry nearly all the bytes: `success` matrices and
//! vectors. It reads the body straight into columns, without serde's per-element machinery, which
//! made up most of the time a large range query spent in the plugin (`make bench`). It gives up
//! (`None`) at anything else or anything it does not expect — an error answer, a scalar, escapes
//! in sample values, a time with more than millisecond digits, malformed JSON — and
//! `convert::convert` then reads the body with serde, which also words the errors. Tests: the two
//! readers agree on generated answers (tests at the end).

use std::borrow::Cow;

use crate::frame::Labels;

/// One series of a matrix, or one sample of a vector (a single point).
#[derive(Debug, PartialEq)]
pub(super) struct Series {
    pub labels: Labels,
    pub times: Vec<i64>,
    pub values: Vec<f64>,
}

#[derive(Debug, PartialEq)]
pub(super) struct Answer {
    pub matrix: bool,
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

/// How many answers were read in parts (for the tests: that path must be taken).
#[cfg(test)]
static READ_IN_PARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How far ahead a series' values are looked at to size its vectors.
const HINT_WINDOW: usize = 1 << 20;

/// Serde's own nesting limit; deeper bodies are left to it.
const MAX_DEPTH: usize = 128;

pub(super) fn read(body: &[u8], ahead: &ReadAhead) -> Option<Answer> {
    let text = std::str::from_utf8(body).ok()?;
    let ahead = (!ahead.is_empty()).then_some(ahead);
    let mut reader = Reader { text, bytes: body, at: 0, ahead };
    let answer = reader.envelope()?;
    reader.space();
    (reader.at == body.len()).then_some(answer)
}

#[derive(Clone)]
struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    ahead: Option<&'a ReadAhead>,
}

/// Elements of a large `result` array read while the rest of the body was still arriving
/// (`ReadAheadBuilder`), by the position of their first `{` in the body. `read` uses a batch only
/// where its own reading arrives at that position right after an element, so the answer is the
/// one it would read without them.
#[derive(Clone, Default)]
pub struct ReadAhead(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<usize, Batch>>>);

struct Batch {
    /// Where the `,` after the batch's last element is.
    stop: usize,
    elements: Vec<Element>,
}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReadAhead({} batches)", self.0.lock().map_or(0, |b| b.len()))
    }
}

impl ReadAhead {
    fn is_empty(&self) -> bool {
        self.0.lock().map_or(true, |b| b.is_empty())
    }

    fn take(&self, start: usize) -> Option<Batch> {
        self.0.lock().ok()?.remove(&start)
    }
}

/// Fed the body as it arrives: every megabyte or so, the complete elements received since the
/// last batch are read on a blocking thread, while the TSDB is still sending the rest.
#[derive(Default)]
pub struct ReadAheadBuilder {
    /// The `{` of the first element not yet in a batch, once known.
    next: Option<usize>,
    /// How much of the body was looked at.
    seen: usize,
    batches: Vec<tokio::task::JoinHandle<Option<(usize, Batch)>>>,
}

const BATCH_BYTES: usize = 1 << 20;

impl ReadAheadBuilder {
    pub fn feed(&mut self, body: &[u8]) {
        if body.len() < self.seen + BATCH_BYTES {
            return;
        }
        let from = self.seen.saturating_sub(MARK.len());
        self.seen = body.len();
        let next = match self.next {
            Some(next) => next,
            None => match find(body, from) {
                Some(mark) => mark + 2,
                None => return,
            },
        };
        self.next = Some(next);
        // Only the new bytes: the older ones hold no mark after `next`.
        let tail = next.max(from);
        let Some(last) = rfind(body, tail) else { return };
        let stop = last + 1;
        let text = body[next..=stop].to_vec();
        self.next = Some(last + 2);
        self.batches.push(tokio::task::spawn_blocking(move || {
            let text_str = std::str::from_utf8(&text).ok()?;
            let mut reader = Reader { text: text_str, bytes: &text, at: 0, ahead: None };
            let elements = reader.elements_until(Some(text.len() - 1))?;
            Some((next, Batch { stop, elements }))
        }));
    }

    /// The batches read so far (waiting for those still being read).
    pub async fn finish(self) -> ReadAhead {
        let mut batches = std::collections::HashMap::new();
        for batch in self.batches {
            if let Ok(Some((start, batch))) = batch.await {
                batches.insert(start, batch);
            }
        }
        ReadAhead(std::sync::Arc::new(std::sync::Mutex::new(batches)))
    }
}

/// How Prometheus and VictoriaMetrics print the gap between two `result` elements. In valid
/// JSON this text occurs nowhere else: a `"` inside a string is escaped, and no other member
/// of an answer is an object that starts with a `metric` key after another object.
const MARK: &[u8] = b"},{\"metric\":";

/// The first `MARK` at or after `from` (looking at each `}`, not comparing at every byte).
fn find(body: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        at += body.get(at..)?.iter().position(|b| *b == b'}')?;
        if body[at..].starts_with(MARK) {
            return Some(at);
        }
        at += 1;
    }
}

/// The last `MARK` at or after `from`.
fn rfind(body: &[u8], from: usize) -> Option<usize> {
    let mut end = body.len();
    loop {
        let at = from + body.get(from..end)?.iter().rposition(|b| *b == b'}')?;
        if body[at..].starts_with(MARK) {
            return Some(at);
        }
        end = at;
    }
}

/// What a `result` element held; which of the two is right depends on `resultType`, which may
/// come after `result`.
struct Element {
    labels: Labels,
    values: Option<(Vec<i64>, Vec<f64>)>,
    value: Option<(i64, f64)>,
}

impl<'a> Reader<'a> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.bytes.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// After `open` was eaten: true when the container is empty (and its `close` eaten).
    fn empty(&mut self, close: u8) -> bool {
        self.space();
        let empty = self.bytes.get(self.at) == Some(&close);
        if empty {
            self.at += 1;
        }
        empty
    }

    /// After an element: true for `,`, false for `close`, `None` otherwise.
    fn more(&mut self, close: u8) -> Option<bool> {
        self.space();
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        match byte {
            b',' => Some(true),
            b if b == close => Some(false),
            _ => None,
        }
    }

    /// Calls `member` for each key of an object, positioned at its value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.empty(b'}') {
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            member(self, key)?;
            if !self.more(b'}')? {
                return Some(());
            }
        }
    }

    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.empty(b']') {
            return Some(());
        }
        loop {
            element(self)?;
            if !self.more(b']')? {
                return Some(());
            }
        }
    }

    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                byte if byte < 0x20 => return None,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        if escaped {
            // Rare in labels; serde decodes the escapes (and rejects bad ones).
            serde_json::from_str::<String>(self.text.get(start - 1..self.at)?).ok().map(Cow::Owned)
        } else {
            self.text.get(start..self.at - 1).map(Cow::Borrowed)
        }
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        let mut all = Vec::new();
        self.array(|r| {
            all.push(r.string()?.into_owned());
            Some(())
        })?;
        Some(all)
    }

    /// Any JSON value, checked as strictly as serde would, and dropped.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.space();
        match *self.bytes.get(self.at)? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|r, _| r.skip(depth + 1)),
            b'[' => self.array(|r| r.skip(depth + 1)),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.text.get(self.at..)?.starts_with(word).then(|| self.at += word.len())
    }

    /// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        let digits = |r: &mut Self| {
            let start = r.at;
            while r.bytes.get(r.at).is_some_and(u8::is_ascii_digit) {
                r.at += 1;
            }
            (r.at > start).then_some(r.at - start)
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let first = *self.bytes.get(self.at)?;
        if digits(self)? > 1 && first == b'0' {
            return None;
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            digits(self)?;
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            digits(self)?;
        }
        Some(())
    }

    fn envelope(&mut self) -> Option<Answer> {
        let (mut status, mut data, mut warnings, mut infos) = (None, None, None, None);
        self.object(|r, key| {
            match key.as_ref() {
                "status" => set_once(&mut status, r.string()?)?,
                "data" => set_once(&mut data, r.data()?)?,
                "warnings" => set_once(&mut warnings, r.strings()?)?,
                "infos" => set_once(&mut infos, r.strings()?)?,
                // errorType, error, isPartial, stats, ...: nothing a success answer needs.
                _ => r.skip(1)?,
            }
            Some(())
        })?;
        if status? != "success" {
            return None;
        }
        let (matrix, series) = data?;
        Some(Answer { matrix, series, warnings: warnings.unwrap_or_default(), infos: infos.unwrap_or_default() })
    }

    fn data(&mut self) -> Option<(bool, Vec<Series>)> {
        let (mut result_type, mut result) = (None, None);
        self.object(|r, key| {
            match key.as_ref() {
                "resultType" => set_once(&mut result_type, r.string()?)?,
                "result" => set_once(&mut result, r.elements()?)?,
                _ => r.skip(2)?,
            }
            Some(())
        })?;
        let elements = result?;
        match result_type?.as_ref() {
            "matrix" => {
                let series = elements.into_iter().map(|e| {
                    let (times, values) = e.values?;
                    e.value.is_none().then_some(Series { labels: e.labels, times, values })
                });
                Some((true, series.collect::<Option<_>>()?))
            }
            "vector" => {
                let mut series = Vec::with_capacity(elements.len());
                for e in elements {
                    if e.values.is_some() {
                        return None;
                    }
                    // A sample without a value is no series, as in `convert`.
                    if let Some((time, value)) = e.value {
                        series.push(Series { labels: e.labels, times: vec![time], values: vec![value] });
                    }
                }
                Some((false, series))
            }
            _ => None,
        }
    }

    /// The `result` array. A large one is read in parts on several threads: each part starts at
    /// an element that follows `},{"metric":` (how Prometheus and VictoriaMetrics print
    /// them) and must end exactly before the next part; if not (that text inside a label value,
    /// say) the whole array is read again on one thread.
    fn elements(&mut self) -> Option<Vec<Element>> {
        self.eat(b'[')?;
        if self.empty(b']') {
            return Some(Vec::new());
        }
        let starts = if self.ahead.is_some() { Vec::new() } else { self.part_starts() };
        if !starts.is_empty() {
            let mut parts = self.clone();
            if let Some(elements) = parts.elements_in_parts(&starts) {
                #[cfg(test)]
                READ_IN_PARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                *self = parts;
                return Some(elements);
            }
        }
        self.elements_until(None)
    }

    /// Where the parts after the first begin; none when the array is small or there is one core.
    fn part_starts(&self) -> Vec<usize> {
        const BYTES_PER_PART: usize = 1 << 20;
        let rest = self.bytes.len() - self.at;
        let parts = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4).min(rest / BYTES_PER_PART);
        let mut starts = Vec::new();
        for part in 1..parts {
            let from = (self.at + rest / parts * part).max(starts.last().map_or(self.at, |s| s + 1));
            match find(self.bytes, from) {
                Some(mark) => starts.push(mark + 2),
                None => break,
            }
        }
        starts
    }

    fn elements_in_parts(&mut self, starts: &[usize]) -> Option<Vec<Element>> {
        let stops: Vec<usize> = starts.iter().map(|start| start - 1).collect();
        std::thread::scope(|scope| {
            let later: Vec<_> = starts
                .iter()
                .enumerate()
                .map(|(i, &start)| {
                    let mut reader = Reader { at: start, ..self.clone() };
                    let stop = stops.get(i + 1).copied();
                    scope.spawn(move || reader.elements_until(stop).map(|elements| (elements, reader.at)))
                })
                .collect();
            let mut elements = self.elements_until(Some(stops[0]));
            for part in later {
                let (more, end) = part.join().ok()??;
                if let Some(all) = elements.as_mut() {
                    all.extend(more);
                    self.at = end;
                }
            }
            elements
        })
    }

    /// Elements from the current one on, up to the array's `]` (`stop: None`) or up to the `,`
    /// at `stop`, which must come right after an element.
    fn elements_until(&mut self, stop: Option<usize>) -> Option<Vec<Element>> {
        let mut elements = Vec::new();
        loop {
            match self.ahead.and_then(|ahead| ahead.take(self.at)) {
                Some(batch) => {
                    elements.extend(batch.elements);
                    self.at = batch.stop;
                }
                None => elements.push(self.element()?),
            }
            self.space();
            if let Some(stop) = stop {
                match self.at.cmp(&stop) {
                    std::cmp::Ordering::Equal => return Some(elements),
                    std::cmp::Ordering::Greater => return None,
                    std::cmp::Ordering::Less => {}
                }
            }
            if !self.more(b']')? {
                return stop.is_none().then_some(elements);
            }
        }
    }

    fn element(&mut self) -> Option<Element> {
        let (mut labels, mut values, mut value) = (None, None, None);
        self.object(|r, key| {
            match key.as_ref() {
                "metric" => {
                    let mut metric = Labels::new();
                    r.object(|r, name| {
                        metric.insert(name.into_owned(), r.string()?.into_owned());
                        Some(())
                    })?;
                    set_once(&mut labels, metric)?;
                }
                "values" => set_once(&mut values, r.pairs()?)?,
                "value" => set_once(&mut value, r.pair()?)?,
                // Native histograms and anything else: left to serde and `convert`.
                _ => return None,
            }
            Some(())
        })?;
        Some(Element { labels: labels.unwrap_or_default(), values, value })
    }

    fn pairs(&mut self) -> Option<(Vec<i64>, Vec<f64>)> {
        self.space();
        // A capacity hint (pairs are about as long as each other): the array's first `]]`,
        // looked for within `HINT_WINDOW` bytes only (searching the whole rest of the body for
        // each series is quadratic on many series with empty `values`, and sized a vector by
        // the whole body).
        let (start, first_pair) = (self.at, self.bytes.get(self.at + 1..)?.iter().position(|b| *b == b']')?);
        let window = &self.bytes[start..self.bytes.len().min(start + HINT_WINDOW)];
        let end = window.windows(2).position(|w| w == b"]]").unwrap_or(0);
        let room = if first_pair == 0 { 0 } else { end / (first_pair + 2) + 1 };
        let (mut times, mut values) = (Vec::with_capacity(room), Vec::with_capacity(room));
        self.array(|r| {
            let (time, value) = r.pair()?;
            times.push(time);
            values.push(value);
            Some(())
        })?;
        Some((times, values))
    }

    /// `[<unix seconds>,"<value>"]`.
    fn pair(&mut self) -> Option<(i64, f64)> {
        self.eat(b'[')?;
        self.space();
        let time = self.seconds_as_ms()?;
        self.eat(b',')?;
        self.eat(b'"')?;
        let start = self.at;
        let mut whole: u64 = 0;
        while let Some(digit) = self.bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
            whole = whole.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            self.at += 1;
        }
        let value = if self.bytes.get(self.at) == Some(&b'"') && (1..=15).contains(&(self.at - start)) {
            // Counters are mostly whole numbers; up to 15 digits they are exact in an f64.
            whole as f64
        } else {
            while self.bytes.get(self.at).is_some_and(|b| *b != b'"' && *b != b'\\' && *b >= 0x20) {
                self.at += 1;
            }
            super::value::parse_sample_value(self.text.get(start..self.at)?).unwrap_or(f64::NAN)
        };
        self.eat(b'"')?;
        self.eat(b']')?;
        Some((time, value))
    }

    /// `1700000000` or `1700000000.123` as epoch milliseconds; other forms are left to serde.
    fn seconds_as_ms(&mut self) -> Option<i64> {
        let start = self.at;
        let mut seconds: i64 = 0;
        while let Some(digit) = self.bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
            seconds = seconds * 10 + i64::from(digit - b'0');
            self.at += 1;
            if self.at - start > 12 {
                return None;
            }
        }
        let digits = self.at - start;
        if digits == 0 || (digits > 1 && self.bytes[start] == b'0') {
            return None;
        }
        let mut millis = 0;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            let fraction = self.at;
            let mut scale = 100;
            while let Some(digit) = self.bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
                millis += i64::from(digit - b'0') * scale;
                scale /= 10;
                self.at += 1;
            }
            if !(1..=3).contains(&(self.at - fraction)) {
                return None;
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            return None;
        }
        Some(seconds * 1000 + millis)
    }
}

/// A key seen twice is an error for serde; leave such a body to it.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(value))
}

#[cfg(test)]
mod tests;
