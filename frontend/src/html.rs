//! HTML as text, for the parts of a view that are drawn once per model and never update in
//! place (a stacked chart's areas and key): one `inner_html` instead of a
//! Leptos view type per piece, each of which costs the wasm a few KB of generic code (the
//! panel's size budget, issue 19). Part of the model: pure Rust, tested natively; every text
//! that came from data goes through `escape`.

/// `text` safe inside an element and inside a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_open_a_tag_or_leave_an_attribute() {
        assert_eq!(escape(r#"<script>alert("x")</script> & 'y'"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
        assert_eq!(escape("ünï ✓"), "ünï ✓");
    }
}
