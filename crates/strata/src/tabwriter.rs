//! Column alignment the way the docker CLI prints tables (Go's `text/tabwriter` with minimum
//! width 10, padding 3, space fill): cells are separated by `\t` in the input; every column but
//! the last is padded to its widest cell plus 3, and to at least 10.

/// Minimum width of a padded cell.
const MIN_WIDTH: usize = 10;
/// Spaces added after the widest cell of a column.
const PADDING: usize = 3;

/// Aligns `lines` (cells separated by tabs) into text, one line per input line.
pub fn align(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in &rows {
        // The last cell of a row is trailing text, not a column cell.
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max(display_width(cell));
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let width = (widths[i] + PADDING).max(MIN_WIDTH);
                line.extend(std::iter::repeat_n(' ', width - display_width(cell)));
            }
        }
        out.push_str(line.trim_end_matches(' '));
        out.push('\n');
    }
    out
}

fn display_width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_like_docker_volume_ls() {
        let out = align(&["DRIVER\tVOLUME NAME".into(), "local\tpgdata".into()]);
        assert_eq!(out, "DRIVER    VOLUME NAME\nlocal     pgdata\n");
    }

    #[test]
    fn wide_cells_get_three_spaces() {
        let out = align(&["A\tB\tC".into(), "a-long-cell-here\tb\tc".into()]);
        // Three spaces after the widest cell, as `docker volume ls --format 'table …'` prints.
        assert_eq!(out, "A                  B         C\na-long-cell-here   b         c\n");
    }
}
