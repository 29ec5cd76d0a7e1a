//! Excerpts of source lines for findings, with every secret redacted, and positions of byte
//! offsets.

use super::secrets::SecretHit;
use super::{is_line_terminator, Pos, MAX_EXCERPT_CHARS};

/// Characters of context kept before a finding on a long line.
const BEFORE: usize = 40;

/// The line holding `offset`, trimmed, or a window of it around `offset` when it is long.
/// Every secret in `hits` (sorted by start) that the excerpt touches is shown redacted (its
/// non-secret prefix, `…` and its length), never in full.
pub(super) fn excerpt(src: &str, line_start: usize, offset: usize, hits: &[SecretHit]) -> String {
    let (from, to, cut_left, cut_right) = window(src, line_start, offset);
    let mut out = String::new();
    if cut_left {
        out.push('…');
    }
    render(src, from, to, hits, &mut out);
    if cut_right {
        out.push('…');
    }
    let trimmed = out.trim();
    if trimmed.chars().count() <= MAX_EXCERPT_CHARS {
        return trimmed.to_owned();
    }
    // Redactions can be longer than what they replace.
    let mut capped: String = trimmed.chars().take(MAX_EXCERPT_CHARS - 1).collect();
    capped.push('…');
    capped
}

/// The byte range of the excerpt: the whole line when it is short, else a window of at most
/// [`MAX_EXCERPT_CHARS`] characters (counting the `…` marks) around `offset`.
fn window(src: &str, line_start: usize, offset: usize) -> (usize, usize, bool, bool) {
    let line = src.get(line_start..).unwrap_or("");
    let mut count = 0;
    let mut len = 0;
    for c in line.chars() {
        if is_line_terminator(c) || count > MAX_EXCERPT_CHARS {
            break;
        }
        count += 1;
        len += c.len_utf8();
    }
    if count <= MAX_EXCERPT_CHARS {
        return (line_start, line_start + len, false, false);
    }
    let head = src.get(line_start..offset).unwrap_or("");
    let mut from = offset;
    let mut before = 0;
    let mut cut_left = false;
    for c in head.chars().rev() {
        if before == BEFORE {
            cut_left = true;
            break;
        }
        before += 1;
        from -= c.len_utf8();
    }
    // Room for the text after `offset`, keeping one character for each `…`.
    let budget = MAX_EXCERPT_CHARS - before - usize::from(cut_left) - 1;
    let tail = src.get(offset..).unwrap_or("");
    let to = offset
        + tail
            .chars()
            .take_while(|c| !is_line_terminator(*c))
            .take(budget)
            .map(char::len_utf8)
            .sum::<usize>();
    (from, to, cut_left, true)
}

/// Copy `src[from..to]` into `out`, each secret replaced by its redacted form (`…` for the part
/// of a secret that started before `from`).
fn render(src: &str, from: usize, to: usize, hits: &[SecretHit], out: &mut String) {
    let mut i = from;
    // The first hit that ends after `from`.
    let mut h = hits.partition_point(|h| h.end <= from);
    while i < to {
        if let Some(hit) = hits.get(h).filter(|hit| hit.start <= i) {
            if hit.start == i {
                out.push_str(&hit.redacted(src));
            } else {
                out.push('…');
            }
            i = hit.end.min(to).max(i + 1);
            h += 1;
            // A hit never ends inside a character: hits are ASCII ranges.
            while !src.is_char_boundary(i) {
                i += 1;
            }
            continue;
        }
        let next = hits.get(h).map_or(to, |hit| hit.start.min(to));
        out.push_str(src.get(i..next).unwrap_or(""));
        i = next;
    }
}

/// The position of each offset in `offsets` (ascending), as the lexer counts lines and
/// columns (UTF-16 code units).
pub(super) fn locate(src: &str, offsets: &[usize]) -> Vec<Pos> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut pos = Pos {
        line: 1,
        column: 1,
        offset: 0,
        line_start: 0,
    };
    let mut chars = src.char_indices().peekable();
    for &target in offsets {
        while let Some(&(at, c)) = chars.peek() {
            if at >= target {
                break;
            }
            chars.next();
            if c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
                continue; // the `\n` ends the line
            }
            if is_line_terminator(c) {
                pos.line += 1;
                pos.column = 1;
                pos.line_start = at + c.len_utf8();
            } else {
                pos.column += c.len_utf16();
            }
        }
        pos.offset = target;
        out.push(pos);
    }
    out
}
