//! Column alignment of tab-separated lines, as Go's text/tabwriter does it with the
//! settings docker's tables use (minimum cell width 10, padding 3, spaces): every cell
//! ended by a tab is padded to its column's width; the last cell of a line is not padded.

/// Docker's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

/// Aligns `text` (lines of tab-separated cells).
pub fn align(text: &str) -> String {
    align_with(text, MIN_WIDTH, PADDING)
}

/// [`align`] with other tabwriter settings (`top` uses a minimum width of 20).
pub fn align_with(text: &str, min_width: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for cells in &lines {
        // Only tab-terminated cells (all but the last) take part in alignment.
        for (i, cell) in cells.iter().take(cells.len().saturating_sub(1)).enumerate() {
            let w = (cell.chars().count() + padding).max(min_width);
            match widths.get_mut(i) {
                Some(cur) => *cur = (*cur).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::with_capacity(text.len() * 2);
    for cells in &lines {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let out = align("REPOSITORY\tTAG\tIMAGE ID\nbusybox\tlatest\t0123456789ab\n");
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID\n\
             busybox      latest    0123456789ab\n"
        );
    }

    #[test]
    fn last_cell_is_not_padded_and_short_lines_keep_their_cells() {
        assert_eq!(align("a\tb\nc\n"), "a         b\nc\n");
        assert_eq!(align(""), "");
    }
}
