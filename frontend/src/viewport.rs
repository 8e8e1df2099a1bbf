//! The top-queries table's viewport, pure arithmetic: which rows of a long table exist in the
//! DOM for a scroll position and panel height, which slot (reused DOM row) shows which row, and
//! the fewest moves that put the slots back in row order. Part of the model, so tested
//! natively: uses nothing else; view/pgss.rs applies the answers to the DOM.

/// Every row of the top-queries table has this height (px), so only the rows in view need to
/// exist in the DOM: 1,000 statements cost what the visible ones cost.
pub const ROW_HEIGHT: f64 = 44.0;
/// Rows drawn beyond the visible ones, above and below, so a scroll shows no gap.
const OVERSCAN: usize = 2;
/// The viewport assumed while the panel's height is not known (px).
const DEFAULT_VIEWPORT: f64 = 600.0;

/// How many rows a viewport of this height (px) draws at most: the visible ones plus the
/// overscan above and below.
pub fn capacity(viewport: f64) -> usize {
    let viewport = if viewport.is_finite() && viewport > 0.0 { viewport.min(100_000.0) } else { DEFAULT_VIEWPORT };
    (viewport / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN
}

/// The rows [start, end) to draw for a scroll position and viewport height (px).
pub fn window(total: usize, scroll_top: f64, viewport: f64) -> (usize, usize) {
    let scroll_top = if scroll_top.is_finite() { scroll_top.max(0.0) } else { 0.0 };
    let first = ((scroll_top / ROW_HEIGHT).floor() as usize).saturating_sub(OVERSCAN).min(total);
    (first, (first + capacity(viewport)).min(total))
}

/// The row a slot shows. Row i lives in slot `i % slots`, so a scroll keeps every row still in
/// view in its slot (its DOM untouched) and hands the slots of rows that left to rows that came.
pub fn slot_row(slot: usize, (start, end): (usize, usize), slots: usize) -> Option<usize> {
    let slots = slots.max(1);
    let row = start + (slot + slots - start % slots) % slots;
    (slot < slots && row < end).then_some(row)
}

/// The moves that put rows back in order, fewest first: `order` is the row index of each
/// element as it stands in the DOM; each move `(element, before)` takes `order[element]` and
/// puts it right before `order[before]` (None: at the end), applied in the order given. The
/// longest run already in order stays; after a scroll of k rows that is all but k elements,
/// and an element the browser does not move keeps its layout.
pub fn reorder(order: &[usize]) -> Vec<(usize, Option<usize>)> {
    // Longest increasing subsequence (patience sorting), as element positions.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous = vec![usize::MAX; order.len()];
    for (i, &row) in order.iter().enumerate() {
        let at = tails.partition_point(|&t| order[t] < row);
        if at > 0 {
            previous[i] = tails[at - 1];
        }
        if at == tails.len() {
            tails.push(i);
        } else {
            tails[at] = i;
        }
    }
    let mut keep = vec![false; order.len()];
    let mut at = tails.last().copied().unwrap_or(usize::MAX);
    while at != usize::MAX {
        keep[at] = true;
        at = previous[at];
    }
    let sorted = crate::model::sorted_indices(order.len(), &mut |a, b| order[a].cmp(&order[b]));
    let mut moves = Vec::new();
    let mut before = None;
    for &i in sorted.iter().rev() {
        if !keep[i] {
            moves.push((i, before));
        }
        before = Some(i);
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rows_in_view_are_drawn() {
        let visible = (DEFAULT_VIEWPORT / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN;
        assert_eq!(window(1000, 0.0, 600.0), (0, visible));
        assert_eq!(window(1000, 100.0 * ROW_HEIGHT, 600.0), (100 - OVERSCAN, 100 - OVERSCAN + visible));
        assert_eq!(window(1000, 1e9, 600.0), (1000, 1000), "scrolled past the end: nothing");
        assert_eq!(window(10, 0.0, 600.0), (0, 10), "fewer rows than fit");
        assert_eq!(window(1000, -60.0, 600.0), (0, visible), "above the first row (the header): from the top");
        assert_eq!(window(1000, 0.0, 4000.0).1, (4000.0 / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN, "a taller panel draws more");
        assert_eq!(window(1000, f64::NAN, f64::INFINITY), (0, visible));
        assert_eq!(window(1000, 0.0, 0.0), (0, visible), "height not known yet");
        assert_eq!(window(1000, 0.0, 300.0).1, (300.0 / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN, "a small panel draws few");
        assert_eq!(window(1000, 0.0, 1e12).1, 1000, "absurd heights are bounded");
        assert_eq!(window(0, 50.0, 600.0), (0, 0));
    }

    /// Applies `reorder`'s moves to a list the way the DOM would.
    fn apply(order: &[usize]) -> (Vec<usize>, usize) {
        let mut dom: Vec<usize> = (0..order.len()).collect();
        let moves = reorder(order);
        for &(element, before) in &moves {
            dom.retain(|&e| e != element);
            let at = before.map(|b| dom.iter().position(|&e| e == b).unwrap()).unwrap_or(dom.len());
            dom.insert(at, element);
        }
        (dom.into_iter().map(|e| order[e]).collect(), moves.len())
    }

    #[test]
    fn reordering_moves_only_what_is_out_of_place() {
        let sorted = |v: &[usize]| {
            let mut s = v.to_vec();
            s.sort();
            s
        };
        for order in [vec![], vec![3], vec![1, 2, 3], vec![3, 2, 1], vec![27, 28, 29, 30, 4, 5, 6], vec![8, 9, 1, 2, 3, 4, 5, 6, 7], vec![5, 1, 4, 2, 3, 0]] {
            let (result, moves) = apply(&order);
            assert_eq!(result, sorted(&order), "{order:?}");
            let expected = match order.as_slice() {
                [27, 28, 29, 30, 4, 5, 6] => Some(3),
                [8, 9, ..] => Some(2),
                [1, 2, 3] | [] | [3] => Some(0),
                [3, 2, 1] => Some(2),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(moves, expected, "{order:?}: a scroll of k rows moves k");
            }
        }
        // Every permutation of 6 rows comes out sorted.
        let mut order: Vec<usize> = (0..6).collect();
        let mut count = 0;
        permute(&mut order, 0, &mut |o| {
            assert_eq!(apply(o).0, (0..6).collect::<Vec<_>>(), "{o:?}");
            count += 1;
        });
        assert_eq!(count, 720);
    }

    fn permute(v: &mut Vec<usize>, k: usize, f: &mut dyn FnMut(&[usize])) {
        if k == v.len() {
            return f(v);
        }
        for i in k..v.len() {
            v.swap(k, i);
            permute(v, k + 1, f);
            v.swap(k, i);
        }
    }

    #[test]
    fn every_row_in_the_window_has_one_slot_and_keeps_it_while_in_view() {
        let slots = capacity(600.0);
        for (start, end) in [(0, slots), (5, 5 + slots), (37, 37 + slots - 4), (990, 1000), (0, 0)] {
            let rows: Vec<usize> = (0..slots).filter_map(|s| slot_row(s, (start, end), slots)).collect();
            let mut sorted = rows.clone();
            sorted.sort();
            assert_eq!(sorted, (start..end).collect::<Vec<_>>(), "window {start}..{end}");
            for s in 0..slots {
                if let Some(row) = slot_row(s, (start, end), slots) {
                    assert_eq!(row % slots, s);
                    assert_eq!(slot_row(s, (start + 3, end + 3), slots).filter(|r| *r == row).is_some(), row >= start + 3, "a row still in view keeps its slot");
                }
            }
        }
        assert_eq!(slot_row(slots, (0, slots), slots), None, "no slot past the last");
        assert_eq!(slot_row(0, (0, 1), 0), Some(0), "zero slots act as one");
    }
}
