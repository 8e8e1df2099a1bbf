//! pgscope's Grafana panel, in Leptos compiled to WebAssembly. The JS glue (js/panel.js) owns an
//! empty div per panel and drives this module through three calls: `mount(element, json,
//! numbers)`, `PanelHandle.update(json, numbers)` and `PanelHandle.unmount()`. Props travel as
//! JSON (see `model::PanelInput`) with the values of number and time fields in one
//! Float64Array beside it (js/props.js `panelProps`). One wasm instance serves every pgscope
//! panel on the page.
//!
//! Two layers, one way. The model, pure Rust and tested natively: the props (`model`), reading
//! a frame (`frame`), and per view what it draws (`table`, `pgss` with `viewport`, `detail`,
//! `stack`). The view (`view`), Leptos components in files named as the model's they draw. The
//! view uses the model, never the other way round (`layers` checks); this file mounts the view.

mod compare;
mod detail;
mod frame;
#[cfg(test)]
mod fuzz;
mod json;
#[cfg(test)]
mod layers;
mod model;
mod number;
mod pgss;
mod stack;
mod table;
mod view;
mod viewport;

use std::cell::Cell;
use std::rc::Rc;

use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyViewState;
use wasm_bindgen::prelude::*;

use crate::view::{Panel, Props};

/// One mounted panel. Dropping it (or `unmount`) removes the view and frees its signals.
#[wasm_bindgen]
pub struct PanelHandle {
    props: Option<RwSignal<Props>>,
    viewport: Option<RwSignal<f64>>,
    mounted: Option<leptos::mount::UnmountHandle<AnyViewState>>,
}

/// A panel's props and height: made inside the mount (its owner frees them), kept by the handle.
type PanelSignals = (RwSignal<Props>, RwSignal<f64>);

/// Mounts a panel into `element` with the initial props (JSON and its packed numbers).
#[wasm_bindgen]
pub fn mount(element: web_sys::HtmlElement, props_json: &str, numbers: Option<Vec<f64>>) -> PanelHandle {
    let initial = model::parse_packed(props_json, numbers.unwrap_or_default());
    let height = element.client_height() as f64;
    let slot: Rc<Cell<Option<PanelSignals>>> = Rc::new(Cell::new(None));
    let inner_slot = slot.clone();
    let mounted = mount_to(element, move || {
        // Created inside the mount's owner, so unmounting frees them.
        let props = RwSignal::new(initial);
        let viewport = RwSignal::new(height);
        inner_slot.set(Some((props, viewport)));
        view! { <Panel props=props viewport=viewport /> }.into_any()
    });
    let signals = slot.take();
    PanelHandle { props: signals.map(|s| s.0), viewport: signals.map(|s| s.1), mounted: Some(mounted) }
}

#[wasm_bindgen]
impl PanelHandle {
    /// New props (Grafana re-rendered the panel). The DOM follows on the next microtask.
    pub fn update(&self, props_json: &str, numbers: Option<Vec<f64>>) {
        if let Some(props) = self.props {
            props.set(model::parse_packed(props_json, numbers.unwrap_or_default()));
        }
    }

    /// The panel's new height in px (Grafana resized it): long tables draw the rows that fit.
    pub fn resize(&self, height: f64) {
        if let Some(viewport) = self.viewport {
            if height.is_finite() && height > 0.0 && viewport.get_untracked() != height {
                viewport.set(height);
            }
        }
    }

    /// Removes the panel's DOM and frees its reactive state. Safe to call twice.
    pub fn unmount(&mut self) {
        self.props = None;
        self.viewport = None;
        self.mounted = None;
    }
}

/// The crate version, so the glue can log which panel build it loaded.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
