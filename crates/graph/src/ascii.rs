//! A text drawing of the graph in the style of `git log --graph`.
//!
//! Each lane is a column waiting for one revision. A revision is drawn as `*`
//! in its lane; lanes waiting for the same revision join with `/` just before
//! it; a merge opens one lane per extra parent with `\`. Every transition line
//! moves each lane by at most one column, so the drawing stays readable.

use crate::{Graph, NodeIndex};

/// Draws `order` (newest first, e.g. [`Graph::history_order`]) as lines of
/// lanes, with `text` of each revision after its `*`.
pub fn render_ascii(
    graph: &Graph,
    order: &[NodeIndex],
    text: impl Fn(NodeIndex) -> String,
) -> String {
    let mut lanes: Vec<NodeIndex> = Vec::new();
    let mut out = String::new();
    // The lane of a base drawn on the row just above, if it was the last lane.
    let mut ended_base: Option<usize> = None;
    for &node in order {
        let mut at: Vec<usize> = positions(&lanes, node);
        if at.is_empty() {
            // A head opening a lane right under a base would read as its
            // child: a row with that column empty keeps the two graphs apart.
            if ended_base == Some(lanes.len()) {
                push_line(&mut out, cells(lanes.len(), |_| '|'));
            }
            lanes.push(node);
            at.push(lanes.len() - 1);
        }
        ended_base = None;
        while let [keep, join, ..] = *at.as_slice() {
            push_line(&mut out, join_line(lanes.len(), keep, join));
            lanes.remove(join);
            at = positions(&lanes, node);
        }
        let lane = at.first().copied().unwrap_or(0);
        let mut row = cells(lanes.len(), |i| if i == lane { '*' } else { '|' });
        row.push(' ');
        row.push_str(&text(node));
        push_line(&mut out, row);

        match graph.parents(node) {
            [] => {
                lanes.remove(lane);
                if lane == lanes.len() {
                    ended_base = Some(lane);
                }
                if lane < lanes.len() {
                    push_line(&mut out, shift_left_line(lanes.len() + 1, lane));
                }
            }
            [first, rest @ ..] => {
                if let Some(slot) = lanes.get_mut(lane) {
                    *slot = *first;
                }
                for (k, &parent) in rest.iter().enumerate() {
                    let insert_at = lane + k + 1;
                    push_line(&mut out, open_line(lanes.len(), insert_at));
                    lanes.insert(insert_at, parent);
                }
            }
        }
    }
    out
}

fn positions(lanes: &[NodeIndex], node: NodeIndex) -> Vec<usize> {
    lanes
        .iter()
        .enumerate()
        .filter(|(_, &l)| l == node)
        .map(|(i, _)| i)
        .collect()
}

/// Returns lane glyphs two columns apart: `| * |`.
fn cells(count: usize, glyph: impl Fn(usize) -> char) -> String {
    let mut row = String::with_capacity(count * 2);
    for i in 0..count {
        if i > 0 {
            row.push(' ');
        }
        row.push(glyph(i));
    }
    row
}

fn push_line(out: &mut String, line: String) {
    out.push_str(line.trim_end());
    out.push('\n');
}

/// Draws lane `join` sliding left into lane `keep`; lanes right of it shift left.
fn join_line(count: usize, keep: usize, join: usize) -> String {
    let mut row: Vec<char> = vec![' '; count * 2];
    for i in 0..count {
        if i < join {
            put(&mut row, 2 * i, '|');
        } else {
            put(&mut row, 2 * i - 1, '/');
        }
    }
    for cell in (2 * keep + 1..2 * join - 1).step_by(2) {
        put(&mut row, cell, '_');
    }
    row.into_iter().collect()
}

/// Draws the lanes right of a finished lane `gone` shifting left; `count` is
/// the number of lanes before it ended.
fn shift_left_line(count: usize, gone: usize) -> String {
    let mut row: Vec<char> = vec![' '; count * 2];
    for i in 0..count {
        if i < gone {
            put(&mut row, 2 * i, '|');
        } else if i > gone {
            put(&mut row, 2 * i - 1, '/');
        }
    }
    row.into_iter().collect()
}

/// Draws a new lane opening at `insert_at` from the lane left of it; lanes at
/// and right of `insert_at` shift right. `count` is the number of lanes before.
fn open_line(count: usize, insert_at: usize) -> String {
    let mut row: Vec<char> = vec![' '; count * 2 + 2];
    for i in 0..count {
        if i < insert_at {
            put(&mut row, 2 * i, '|');
        } else {
            put(&mut row, 2 * i + 1, '\\');
        }
    }
    put(&mut row, (2 * insert_at).saturating_sub(1), '\\');
    row.into_iter().collect()
}

/// Writes a glyph into a row, ignoring a column past its end.
fn put(row: &mut [char], column: usize, glyph: char) {
    if let Some(cell) = row.get_mut(column) {
        *cell = glyph;
    }
}

#[cfg(test)]
mod tests {
    use crate::{Graph, RevisionSpec};

    fn draw(specs: &[(&str, &[&str])]) -> String {
        let specs: Vec<RevisionSpec> = specs
            .iter()
            .map(|(id, parents)| RevisionSpec {
                id: (*id).to_owned(),
                parents: parents.iter().map(|p| (*p).to_owned()).collect(),
                depends_on: Vec::new(),
                branch_labels: Vec::new(),
            })
            .collect();
        let graph = Graph::build(&specs).unwrap();
        super::render_ascii(&graph, &graph.history_order(), |n| graph.id(n).to_owned())
    }

    //   a2   b2
    //   |    |
    //   a1   b1      two unrelated bases
    #[test]
    fn a_second_base_is_not_drawn_as_the_child_of_the_first() {
        let drawing = draw(&[("a1", &[]), ("a2", &["a1"]), ("b1", &[]), ("b2", &["b1"])]);
        let lines: Vec<&str> = drawing.lines().collect();
        let first_base = lines
            .iter()
            .position(|l| l.ends_with("a1") || l.ends_with("b1"))
            .unwrap();
        // The row under the first base is empty, so the next head does not
        // hang from it.
        assert_eq!(lines[first_base + 1], "", "{drawing}");
        assert_eq!(drawing.matches('*').count(), 4, "{drawing}");
    }

    //   c
    //   |
    //   a
    #[test]
    fn a_single_line_has_no_gap() {
        assert_eq!(draw(&[("a", &[]), ("c", &["a"])]), "* c\n* a\n");
    }
}
