//! What the views share: the copy button, the error and warning messages above a view, and
//! the column headers' sort arrow and `aria-sort`. Uses the DOM and Leptos only, no model type:
//! each view passes in the text it shows.

use leptos::prelude::*;

/// Copies `text` to the clipboard; where the browser has no clipboard API (Grafana served over
/// plain HTTP from another host) it says so instead of failing. What it says after a click
/// belongs to the text it copied: a row slot showing another statement reads "copy" again.
#[component]
pub(super) fn CopyButton(#[prop(into)] text: Signal<String>) -> impl IntoView {
    let state = RwSignal::new(None::<(String, &'static str)>);
    let copy = move |_| {
        let text = text.get_untracked();
        let clipboard = web_sys::window()
            .map(|w| w.navigator())
            .filter(|n| js_sys::Reflect::get(n, &"clipboard".into()).is_ok_and(|c| !c.is_undefined() && !c.is_null()))
            .map(|n| n.clipboard());
        let said = match clipboard {
            Some(clipboard) => {
                let _ = clipboard.write_text(&text);
                "copied"
            }
            None => "no clipboard here (needs HTTPS): select the text",
        };
        state.set(Some((text, said)));
    };
    let label = move || state.with(|s| text.with(|t| s.as_ref().filter(|(copied, _)| copied == t).map_or("copy", |(_, said)| *said)));
    view! {
        <button class="pgscope-copy" type="button" on:click=copy
                style="background: transparent; color: var(--pgscope-link, #6e9fff); border: 1px solid var(--pgscope-border, #2c3235); padding: 0 6px; font-size: 11px; cursor: pointer;">
            {label}
        </button>
    }
}

/// The query errors Grafana reported, then the frames' notices, one message each.
/// Lists of views outside the top-queries table are `Vec<AnyView>`: one copy of Leptos's list
/// build/rebuild for all of them instead of one per view type (~32 KB of wasm, issue 19).
pub(super) fn messages(errors: Vec<String>, notices: &[String]) -> impl IntoView {
    errors
        .into_iter()
        .map(|text| view! { <PanelMessage kind="error" text=text /> }.into_any())
        .chain(notices.iter().cloned().map(|text| view! { <PanelMessage kind="warning" text=text /> }.into_any()))
        .collect_view()
}

#[component]
pub(super) fn PanelMessage(kind: &'static str, text: String) -> impl IntoView {
    let colour = if kind == "error" { "var(--pgscope-error, #e02f44)" } else { "var(--pgscope-warning, #ff9830)" };
    view! {
        <div class=format!("pgscope-{kind}") role="alert"
             style=format!("border-left: 3px solid {colour}; padding: 4px 8px; margin-bottom: 6px;")>
            {text}
        </div>
    }
}

/// A column header's arrow; `state`: None when rows are not sorted by it, else Some(descending).
pub(super) fn sort_indicator(state: Option<bool>) -> &'static str {
    match state {
        Some(true) => " ▼",
        Some(false) => " ▲",
        None => "",
    }
}

/// A column header's `aria-sort`, for the same state; None leaves the attribute out. WAI-ARIA
/// puts it on the one header the rows are sorted by: "none" on every other header would have a
/// screen reader announce each of them as sortable-but-unsorted, text columns included.
pub(super) fn sort_aria(state: Option<bool>) -> Option<&'static str> {
    state.map(|descending| if descending { "descending" } else { "ascending" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sorted_column_has_aria_sort() {
        assert_eq!(sort_aria(Some(true)), Some("descending"));
        assert_eq!(sort_aria(Some(false)), Some("ascending"));
        assert_eq!(sort_aria(None), None, "no aria-sort=\"none\" on the other headers");
        assert_eq!([sort_indicator(Some(true)), sort_indicator(Some(false)), sort_indicator(None)], [" ▼", " ▲", ""]);
    }
}
